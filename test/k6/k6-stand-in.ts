// Stand-ins for the k6 runtime modules, just enough to evaluate a scenario's top level in Node:
// its `options` and the custom metrics it declares. k6 itself is AGPL and not fetched here (see
// k6/README.md), so the scenarios' options are checked against k6's rules in k6-options.ts
// instead of by `k6 inspect`. Nothing here sends a request: a scenario that calls k6/http at
// module load (it must not: k6 forbids requests in the init context) fails the check.

export type MetricType = 'counter' | 'gauge' | 'rate' | 'trend';

/**
 * Custom metrics declared at init time, by name: thresholds may only name these or built-ins.
 * On globalThis because each fresh evaluation of a scenario (vi.resetModules) also evaluates this
 * module afresh, and the test must see what that evaluation declared.
 */
const holder = globalThis as { __k6DeclaredMetrics?: Map<string, MetricType> };
export const declaredMetrics: Map<string, MetricType> = (holder.__k6DeclaredMetrics ??= new Map());

function metric(type: MetricType) {
  return class {
    readonly name: string;
    constructor(name: string) {
      // k6: metric names are ASCII letters, digits and underscores, at most 128, not starting with a digit.
      if (!/^[A-Za-z_][A-Za-z0-9_]{0,127}$/.test(name)) throw new Error(`invalid metric name "${name}"`);
      if (declaredMetrics.has(name) && declaredMetrics.get(name) !== type) throw new Error(`metric "${name}" redeclared as ${type}`);
      declaredMetrics.set(name, type);
      this.name = name;
    }
    add(): void {
      throw new Error(`${type} "${this.name}".add() called outside a VU`);
    }
  };
}

export const metrics = {
  Counter: metric('counter'),
  Gauge: metric('gauge'),
  Rate: metric('rate'),
  Trend: metric('trend'),
};

const initContext = (what: string) => () => {
  throw new Error(`${what} called in the init context (k6 only allows it in setup, default or teardown)`);
};

export const http = {
  default: {
    get: initContext('http.get'),
    post: initContext('http.post'),
    del: initContext('http.del'),
    request: initContext('http.request'),
    batch: initContext('http.batch'),
    // Pure configuration helpers that k6 allows at init time.
    expectedStatuses: (...statuses: unknown[]) => ({ statuses }),
    cookieJar: initContext('http.cookieJar'),
  },
};

export const k6 = {
  check: initContext('check'),
  fail: initContext('fail'),
  sleep: initContext('sleep'),
  group: initContext('group'),
};

export const execution = {
  default: {
    get scenario(): never {
      throw new Error('exec.scenario read in the init context');
    },
  },
};
