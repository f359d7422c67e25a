// Import rules for the TypeScript sources, run by `npm run lint` (scripts/deps-check.mjs).
// The auth service's layers point down only (see README "Layers"):
//   main -> deps -> app -> http -> sessions (service, koa adapter) / users / security
//        -> store implementations (sessions/*-store, replication/) -> redis -> observability, config, errors
// Type-only imports count too: a type loop is still a loop a reader has to untangle.
const SRC = '^services/auth/src/';

/** A rule that `from` never imports `to`. */
const never = (name, comment, from, to) => ({ name, comment, severity: 'error', from: { path: from }, to: { path: to } });

module.exports = {
  forbidden: [
    {
      name: 'no-circular',
      comment: 'An import cycle (also through type-only imports): give the shared piece its own module.',
      severity: 'error',
      from: {},
      to: { circular: true },
    },
    never(
      'base-layer-imports-nothing-above',
      'config, errors and observability are the bottom layer: they import no feature code.',
      `${SRC}(config\\.ts|errors\\.ts|observability/)`,
      `${SRC}(http|sessions|users|security|redis|replication)/|${SRC}(app|deps|main)\\.ts`,
    ),
    never(
      'redis-is-infrastructure',
      'redis/ knows connections, deadlines and errors, not sessions, users or throttles.',
      `${SRC}redis/`,
      `${SRC}(http|sessions|users|security|replication)/|${SRC}(app|deps|main)\\.ts`,
    ),
    never(
      'sessions-does-not-know-replication',
      'sessions/ holds the interface and the plain stores; replication/ is a unit beside it that imports it, never the reverse.',
      `${SRC}sessions/`,
      `${SRC}(http|replication|users|security)/|${SRC}(app|deps|main)\\.ts`,
    ),
    never(
      'replication-below-the-service',
      'replication/ implements SessionStore: it may use the session types and codec, not the service or the HTTP layer.',
      `${SRC}replication/`,
      `${SRC}(http|users|security)/|${SRC}sessions/(service|token)\\.ts|${SRC}(app|deps|main)\\.ts`,
    ),
    never(
      'users-and-security-are-leaves',
      'users/ and security/ sit beside sessions/: none imports the others or the HTTP layer.',
      `${SRC}(users|security)/`,
      `${SRC}(http|sessions|replication)/|${SRC}(app|deps|main)\\.ts`,
    ),
    never(
      'http-does-not-build-dependencies',
      'Routes get their collaborators injected; only main.ts builds them (deps.ts) and only deps.ts picks store implementations.',
      `${SRC}(http/|app\\.ts)`,
      `${SRC}(deps|main)\\.ts|${SRC}redis/|${SRC}replication/|${SRC}sessions/(memory|redis)-store\\.ts`,
    ),
    never('production-never-imports-tests', 'Test control lives in test code.', '^(services|packages|chaos)/[^/]+/src/|^chaos/src/', '/test/'),
  ],
  options: {
    includeOnly: '^(services|packages|chaos|bench)/',
    doNotFollow: { path: 'node_modules' },
    exclude: { path: '(^|/)(node_modules|dist)/' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: { extensions: ['.ts', '.js', '.mjs'] },
    reporterOptions: {
      text: { highlightFocused: true },
    },
  },
};
