import { z } from 'zod';
import { ERRORS } from '../errors.js';
import { PAGE_FILES } from './web-routes.js';
import { ChangePasswordBody, DeleteAccountBody, LoginBody, LogoutAllBody, ReauthBody, RegisterBody } from './schemas.js';

const ref = (name: string) => ({ $ref: `#/components/schemas/${name}` });
const json = (schema: object) => ({ 'application/json': { schema } });
const errorResponses = (...codes: (keyof typeof ERRORS)[]) =>
  Object.fromEntries(
    [...new Set(codes.map((c) => ERRORS[c].status))].map((status) => [
      String(status),
      {
        description: codes.filter((c) => ERRORS[c].status === status).join(', '),
        ...(status === 429 ? { headers: RETRY_AFTER } : {}),
        content: json(ref('Error')),
      },
    ]),
  );

/** Both cookies go together: koa-session refuses a session cookie whose `.sig` does not verify. */
const SESSION_COOKIE = [{ sessionCookie: [], sessionCookieSignature: [] }];
const CSRF = {
  name: 'x-csrf-token',
  in: 'header',
  required: true,
  description: 'The csrfToken from login or GET /auth/me',
  schema: { type: 'string', minLength: 1 },
};
const RETRY_AFTER = { 'Retry-After': { description: 'Seconds to wait', schema: { type: 'integer', minimum: 1 } } };
/** The 403s of a sensitive action a client must tell apart: ask for the password on REAUTH_REQUIRED. */
const SUDO = ['REAUTH_REQUIRED'] as const;
/** What a sensitive action that proves the password (change password, delete account) can answer. */
const PASSWORD_ACTION_ERRORS = [
  'UNAUTHENTICATED',
  'INVALID_PASSWORD',
  ...SUDO,
  'CSRF_ORIGIN_MISMATCH',
  'CSRF_TOKEN_INVALID',
  'HTTPS_REQUIRED',
  'TOO_MANY_ATTEMPTS',
  'BUSY',
  'STORE_UNAVAILABLE',
  'WRITE_NOT_CONFIRMED',
] as const;
const input = (s: z.ZodType) => z.toJSONSchema(s, { io: 'input' });

/**
 * The OpenAPI document, built from the same zod schemas and error table the service uses, so it
 * cannot describe a body or an error the code does not have. services/auth/openapi.json is this,
 * written out by `npm run openapi`; a test fails when the two differ.
 */
export function openApiDocument() {
  const common = ['VALIDATION_FAILED', 'MALFORMED_JSON', 'UNSUPPORTED_MEDIA_TYPE', 'PAYLOAD_TOO_LARGE'] as const;
  return {
    openapi: '3.1.0',
    info: {
      title: 'session-auth',
      version: '0.1.0',
      description:
        'Stateful cookie sessions. Unsafe methods require a same-origin request; authenticated unsafe ' +
        'requests also require the x-csrf-token returned by login and /auth/me.',
    },
    components: {
      securitySchemes: {
        sessionCookie: {
          type: 'apiKey',
          in: 'cookie',
          name: '__Host-sid',
          description:
            'The session token, set by POST /auth/login. `__Host-sid` in production (COOKIE_SECURE=true: Secure, Path=/, ' +
            'no Domain); `sid` when COOKIE_SECURE is auto or false. HttpOnly, SameSite=Lax.',
        },
        sessionCookieSignature: {
          type: 'apiKey',
          in: 'cookie',
          name: '__Host-sid.sig',
          description: 'HMAC of the session cookie (`sid.sig` beside `sid`), set with it; a session cookie without a valid one is ignored.',
        },
      },
      schemas: {
        Error: {
          type: 'object',
          required: ['error'],
          properties: {
            error: {
              type: 'object',
              required: ['code', 'message'],
              properties: {
                code: { type: 'string', enum: Object.keys(ERRORS) },
                message: { type: 'string' },
                details: {},
              },
            },
          },
        },
        User: {
          type: 'object',
          required: ['id', 'email'],
          properties: { id: { type: 'string' }, email: { type: 'string' }, createdAt: { type: 'string' } },
        },
        Session: {
          type: 'object',
          required: ['handle', 'createdAt', 'lastSeenAt', 'idleExpiresAt', 'absoluteExpiresAt'],
          properties: {
            handle: { type: 'string' },
            createdAt: { type: 'string', format: 'date-time' },
            lastSeenAt: { type: 'string', format: 'date-time' },
            idleExpiresAt: { type: 'string', format: 'date-time' },
            absoluteExpiresAt: { type: 'string', format: 'date-time' },
          },
        },
        SessionListItem: {
          allOf: [
            ref('Session'),
            {
              type: 'object',
              properties: {
                expiresAt: { type: 'string', format: 'date-time' },
                ip: { type: 'string' },
                userAgent: { type: 'string' },
                current: { type: 'boolean' },
              },
            },
          ],
        },
        Authenticated: {
          type: 'object',
          required: ['user', 'session', 'csrfToken'],
          properties: { user: ref('User'), session: ref('Session'), csrfToken: { type: 'string' } },
        },
        RegisterBody: input(RegisterBody),
        LoginBody: input(LoginBody),
        LogoutAllBody: input(LogoutAllBody),
        ReauthBody: input(ReauthBody),
        ChangePasswordBody: input(ChangePasswordBody),
        DeleteAccountBody: input(DeleteAccountBody),
      },
    },
    paths: {
      '/auth/register': {
        post: {
          summary: 'Create a user',
          requestBody: { required: true, content: json(ref('RegisterBody')) },
          responses: {
            '201': { description: 'Created', content: json({ type: 'object', properties: { user: ref('User') } }) },
            ...errorResponses(...common, 'EMAIL_TAKEN', 'CSRF_ORIGIN_MISMATCH', 'TOO_MANY_ATTEMPTS', 'BUSY', 'STORE_UNAVAILABLE', 'WRITE_NOT_CONFIRMED'),
          },
        },
      },
      '/auth/login': {
        post: {
          summary: 'Log in: creates a new session and sets the session cookie',
          description:
            'Also sets a device cookie (`__Host-device`, `device` over plain HTTP): a browser that logged in before keeps a ' +
            'throttle budget of its own for the account, so guesses from elsewhere do not lock it out.',
          requestBody: { required: true, content: json(ref('LoginBody')) },
          responses: {
            '200': { description: 'Logged in; Set-Cookie carries the session token', content: json(ref('Authenticated')) },
            ...errorResponses(
              ...common,
              'INVALID_CREDENTIALS',
              'CSRF_ORIGIN_MISMATCH',
              'HTTPS_REQUIRED',
              'TOO_MANY_ATTEMPTS',
              'BUSY',
              'STORE_UNAVAILABLE',
              'WRITE_NOT_CONFIRMED',
            ),
          },
        },
      },
      '/auth/logout': {
        post: {
          summary: 'Destroy the current session',
          security: SESSION_COOKIE,
          parameters: [CSRF],
          responses: {
            '204': { description: 'Logged out; the cookie is cleared' },
            ...errorResponses('UNAUTHENTICATED', 'CSRF_ORIGIN_MISMATCH', 'CSRF_TOKEN_INVALID', 'HTTPS_REQUIRED', 'STORE_UNAVAILABLE'),
          },
        },
      },
      '/auth/me': {
        get: {
          summary: 'The current user and session',
          security: SESSION_COOKIE,
          responses: {
            '200': { description: 'Authenticated', content: json(ref('Authenticated')) },
            ...errorResponses('UNAUTHENTICATED', 'STORE_UNAVAILABLE'),
          },
        },
      },
      '/auth/sessions': {
        get: {
          summary: "The current user's active sessions",
          security: SESSION_COOKIE,
          responses: {
            '200': {
              description: 'Sessions, oldest first',
              content: json({ type: 'object', properties: { sessions: { type: 'array', items: ref('SessionListItem') } } }),
            },
            ...errorResponses('UNAUTHENTICATED', 'STORE_UNAVAILABLE'),
          },
        },
      },
      '/auth/sessions/{handle}': {
        delete: {
          summary: 'Revoke one of my sessions',
          security: SESSION_COOKIE,
          parameters: [{ name: 'handle', in: 'path', required: true, schema: { type: 'string' } }, CSRF],
          responses: {
            '204': { description: 'Revoked' },
            ...errorResponses(
              'UNAUTHENTICATED',
              'SESSION_NOT_FOUND',
              ...SUDO,
              'CSRF_ORIGIN_MISMATCH',
              'CSRF_TOKEN_INVALID',
              'HTTPS_REQUIRED',
              'STORE_UNAVAILABLE',
            ),
          },
        },
      },
      '/auth/logout-all': {
        post: {
          summary: 'Revoke all my sessions, optionally keeping the current one (needs a recent password check)',
          security: SESSION_COOKIE,
          parameters: [CSRF],
          requestBody: { required: false, content: json(ref('LogoutAllBody')) },
          responses: {
            '200': { description: 'Revoked', content: json({ type: 'object', properties: { revoked: { type: 'integer' } } }) },
            ...errorResponses(
              ...common,
              'UNAUTHENTICATED',
              ...SUDO,
              'CSRF_ORIGIN_MISMATCH',
              'CSRF_TOKEN_INVALID',
              'HTTPS_REQUIRED',
              'STORE_UNAVAILABLE',
            ),
          },
        },
      },
      '/auth/reauth': {
        post: {
          summary: 'Prove the password again: opens the re-authentication window for sensitive actions',
          security: SESSION_COOKIE,
          parameters: [CSRF],
          requestBody: { required: true, content: json(ref('ReauthBody')) },
          responses: {
            '200': {
              description: 'Re-authenticated',
              content: json({
                type: 'object',
                required: ['reauthenticatedAt', 'reauthExpiresAt'],
                properties: {
                  reauthenticatedAt: { type: 'string', format: 'date-time' },
                  reauthExpiresAt: { type: 'string', format: 'date-time' },
                },
              }),
            },
            ...errorResponses(
              ...common,
              'UNAUTHENTICATED',
              'INVALID_PASSWORD',
              'CSRF_ORIGIN_MISMATCH',
              'CSRF_TOKEN_INVALID',
              'TOO_MANY_ATTEMPTS',
              'BUSY',
              'STORE_UNAVAILABLE',
            ),
          },
        },
      },
      '/auth/password': {
        post: {
          summary:
            'Change my password: every other session is revoked, this one rotated to a new token (needs a recent password check)',
          security: SESSION_COOKIE,
          parameters: [CSRF],
          requestBody: { required: true, content: json(ref('ChangePasswordBody')) },
          responses: {
            '200': {
              description: 'Changed; Set-Cookie carries the new session token',
              content: json({
                type: 'object',
                required: ['revoked', 'session', 'csrfToken'],
                properties: { revoked: { type: 'integer' }, session: ref('Session'), csrfToken: { type: 'string' } },
              }),
            },
            ...errorResponses(...common, ...PASSWORD_ACTION_ERRORS),
          },
        },
      },
      '/auth/account': {
        delete: {
          summary: 'Delete my account: every session revoked, the user and its email removed (needs a recent password check)',
          security: SESSION_COOKIE,
          parameters: [CSRF],
          requestBody: { required: true, content: json(ref('DeleteAccountBody')) },
          responses: {
            '204': { description: 'Deleted; the cookies are cleared' },
            ...errorResponses(...common, ...PASSWORD_ACTION_ERRORS),
          },
        },
      },
      '/healthz': { get: { summary: 'Liveness', responses: { '200': { description: 'Alive' } } } },
      '/readyz': {
        get: {
          summary: 'Readiness: store reachable and not shutting down',
          responses: { '200': { description: 'Ready' }, ...errorResponses('NOT_READY') },
        },
      },
      '/metrics': { get: { summary: 'Prometheus metrics', responses: { '200': { description: 'Text exposition format' } } } },
      '/openapi.json': { get: { summary: 'This document', responses: { '200': { description: 'OpenAPI 3.1' } } } },
      // The web page is no API, but it is served by this service, so it is listed here too.
      ...Object.fromEntries(
        Object.entries(PAGE_FILES).map(([path, { file, type }]) => [
          path,
          {
            get: {
              summary: `The web page: ${file}`,
              tags: ['web page'],
              responses: {
                '200': { description: file, content: { [type.split(';')[0]!]: { schema: { type: 'string' } } } },
                '304': { description: 'Not modified (If-None-Match)' },
              },
            },
          },
        ]),
      ),
    },
  };
}
