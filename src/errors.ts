/**
 * The one error hierarchy of Corral. Every error that crosses a boundary (API
 * reply, CLI exit, proxy response) is a {@link CorralError} carrying one of the
 * contract's codes. Foreign errors are mapped once per boundary (JetStream in
 * the store, dockerode in the docker driver) and keep the original as `cause`.
 */

/** The contract's error codes (DESIGN.md, "NATS request/reply API"). */
export const ERROR_STATUS = {
  invalid_argument: 400,
  unauthorized: 401,
  forbidden: 403,
  not_found: 404,
  conflict: 409,
  gone: 410,
  internal: 500,
  capacity_exhausted: 503,
  unavailable: 503,
} as const;

export type ErrorCode = keyof typeof ERROR_STATUS;

export function isErrorCode(value: unknown): value is ErrorCode {
  return typeof value === "string" && Object.hasOwn(ERROR_STATUS, value);
}

export interface CorralErrorOptions {
  cause?: unknown;
  /** Overrides the code's default retryability. */
  retryable?: boolean;
}

/** Base class: a stable contract `code`, its HTTP `status`, and whether retrying may help. */
export class CorralError extends Error {
  readonly code: ErrorCode;
  readonly status: number;
  readonly retryable: boolean;

  constructor(code: ErrorCode, message: string, options: CorralErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.code = code;
    this.status = ERROR_STATUS[code];
    this.retryable = options.retryable ?? (code === "unavailable" || code === "capacity_exhausted");
  }

  /** The JSON body of an error reply: `{error: {code, message}}`. */
  toJSON(): { error: { code: ErrorCode; message: string } } {
    return { error: { code: this.code, message: this.message } };
  }
}

export class InvalidArgumentError extends CorralError {
  constructor(message: string, options?: CorralErrorOptions) {
    super("invalid_argument", message, options);
  }
}
export class UnauthorizedError extends CorralError {
  constructor(message: string, options?: CorralErrorOptions) {
    super("unauthorized", message, options);
  }
}
export class ForbiddenError extends CorralError {
  constructor(message: string, options?: CorralErrorOptions) {
    super("forbidden", message, options);
  }
}
export class NotFoundError extends CorralError {
  constructor(message: string, options?: CorralErrorOptions) {
    super("not_found", message, options);
  }
}
export class ConflictError extends CorralError {
  constructor(message: string, options?: CorralErrorOptions) {
    super("conflict", message, options);
  }
}
/** A KV compare-and-swap lost: the key's revision was not the one expected (JetStream 10071). */
export class RevisionConflictError extends ConflictError {
  constructor(
    readonly key: string,
    readonly expectedRevision: number,
    options?: CorralErrorOptions,
  ) {
    super(`revision conflict on ${key} (expected revision ${expectedRevision})`, { retryable: true, ...options });
  }
}
export class GoneError extends CorralError {
  constructor(message: string, options?: CorralErrorOptions) {
    super("gone", message, options);
  }
}
export class CapacityExhaustedError extends CorralError {
  constructor(message: string, options?: CorralErrorOptions) {
    super("capacity_exhausted", message, options);
  }
}
export class UnavailableError extends CorralError {
  constructor(message: string, options?: CorralErrorOptions) {
    super("unavailable", message, options);
  }
}
export class InternalError extends CorralError {
  constructor(message: string, options?: CorralErrorOptions) {
    super("internal", message, options);
  }
}

const BY_CODE: Record<ErrorCode, new (message: string, options?: CorralErrorOptions) => CorralError> = {
  invalid_argument: InvalidArgumentError,
  unauthorized: UnauthorizedError,
  forbidden: ForbiddenError,
  not_found: NotFoundError,
  conflict: ConflictError,
  gone: GoneError,
  internal: InternalError,
  capacity_exhausted: CapacityExhaustedError,
  unavailable: UnavailableError,
};

/** Rebuilds the subclass for a code received on the wire (client side). */
export function errorFromCode(code: string, message: string): CorralError {
  const Ctor = isErrorCode(code) ? BY_CODE[code] : InternalError;
  return new Ctor(isErrorCode(code) ? message : `${code}: ${message}`);
}

export function isCorralError(err: unknown): err is CorralError {
  return err instanceof CorralError;
}

/**
 * Maps anything thrown to a CorralError. Unknown errors become `internal` with
 * an id (`errorId`) that the caller logs next to the original, so the reply
 * can name the log line without leaking internals.
 */
export function toCorralError(err: unknown, errorId: string): CorralError {
  if (err instanceof CorralError) return err;
  return new InternalError(`internal error (id ${errorId})`, { cause: err });
}
