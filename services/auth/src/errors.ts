/**
 * One table of every error the API can return. The HTTP layer, the OpenAPI document and the
 * README are all derived from (or tested against) this table, so a code never drifts.
 */
export const ERRORS = {
  VALIDATION_FAILED: { status: 400, message: 'The request body is not valid.' },
  MALFORMED_JSON: { status: 400, message: 'The request body is not valid JSON.' },
  BAD_REQUEST: { status: 400, message: 'The request is not valid HTTP.' },
  REQUEST_TIMEOUT: { status: 408, message: 'The request was not received in time.' },
  HEADERS_TOO_LARGE: { status: 431, message: 'The request headers are too large.' },
  UNSUPPORTED_MEDIA_TYPE: { status: 415, message: 'Send the request body as uncompressed application/json.' },
  PAYLOAD_TOO_LARGE: { status: 413, message: 'The request body is too large.' },
  NOT_FOUND: { status: 404, message: 'No such route.' },
  METHOD_NOT_ALLOWED: { status: 405, message: 'Method not allowed on this route.' },
  UNAUTHENTICATED: { status: 401, message: 'A valid session is required.' },
  INVALID_CREDENTIALS: { status: 401, message: 'Email or password is incorrect.' },
  INVALID_PASSWORD: { status: 403, message: 'The password is incorrect.' },
  REAUTH_REQUIRED: {
    status: 403,
    message: 'This action needs a recent password check: POST /auth/reauth with the password, then retry.',
  },
  CSRF_ORIGIN_MISMATCH: { status: 403, message: 'Cross-site request refused.' },
  CSRF_TOKEN_INVALID: { status: 403, message: 'Missing or invalid CSRF token.' },
  HTTPS_REQUIRED: { status: 403, message: 'This request must be made over HTTPS.' },
  EMAIL_TAKEN: { status: 409, message: 'An account with this email already exists.' },
  SESSION_NOT_FOUND: { status: 404, message: 'No such session.' },
  TOO_MANY_ATTEMPTS: { status: 429, message: 'Too many login attempts; try again later.' },
  BUSY: { status: 503, message: 'The server is busy; try again shortly.' },
  STORE_UNAVAILABLE: { status: 503, message: 'The session store is unavailable; try again shortly.' },
  WRITE_NOT_CONFIRMED: {
    status: 503,
    message: 'The change was not confirmed by a replica in time and may not survive a failover; retry.',
  },
  NOT_READY: { status: 503, message: 'Not ready.' },
  INTERNAL: { status: 500, message: 'Internal error.' },
} as const satisfies Record<string, { status: number; message: string }>;

export type ErrorCode = keyof typeof ERRORS;

export interface AppErrorOptions {
  message?: string;
  /** Seconds, sent as Retry-After. */
  retryAfter?: number;
  details?: unknown;
  cause?: unknown;
}

export class AppError extends Error {
  readonly code: ErrorCode;
  readonly status: number;
  /** 5xx messages are generic; only 4xx may carry request-specific text. */
  readonly expose: boolean;
  readonly retryAfter: number | undefined;
  readonly details: unknown;

  constructor(code: ErrorCode, opts: AppErrorOptions = {}) {
    super(opts.message ?? ERRORS[code].message, { cause: opts.cause });
    this.name = 'AppError';
    this.code = code;
    this.status = ERRORS[code].status;
    this.expose = this.status < 500;
    this.retryAfter = opts.retryAfter;
    this.details = opts.details;
  }
}

/** What went wrong in a store, as the metrics and the HTTP mapping need to know it. */
export type StoreErrorKind = 'timeout' | 'unavailable' | 'readonly' | 'no_replica_ack' | 'other';

export class StoreError extends Error {
  readonly kind: StoreErrorKind;
  readonly op: string;
  constructor(op: string, kind: StoreErrorKind, message: string, cause?: unknown) {
    super(message, { cause });
    this.name = 'StoreError';
    this.op = op;
    this.kind = kind;
  }
}

/** Maps a store failure to the HTTP error a client sees: always a fast 503 with Retry-After. */
export function storeErrorToAppError(err: StoreError): AppError {
  if (err.kind === 'no_replica_ack') return new AppError('WRITE_NOT_CONFIRMED', { retryAfter: 1, cause: err });
  return new AppError('STORE_UNAVAILABLE', { retryAfter: 1, cause: err });
}
