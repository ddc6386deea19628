/**
 * The package's public surface: the typed client of the `corral` API, its
 * request/reply types, the error classes by code, and the record schema.
 * Server pieces (node, proxy, UI) are run through the `corral` executable.
 */
export { CorralClient, type CorralClientOptions, type ResumeOptions } from "./client/client.js";
export type { ConnectReply, CreateReply, ListReply } from "./client/types.js";
export { watchEvents, type WatchedEvent, type WatchOptions } from "./client/watch.js";
export {
  CapacityExhaustedError,
  ConflictError,
  CorralError,
  ERROR_STATUS,
  ForbiddenError,
  GoneError,
  InternalError,
  InvalidArgumentError,
  NotFoundError,
  UnauthorizedError,
  UnavailableError,
  isCorralError,
  type ErrorCode,
} from "./errors.js";
export { SANDBOX_STATES, KILL_REASONS, type SandboxRecord, type SandboxState, type KillReason, type Lifecycle, type Resources } from "./schema/record.js";
export type { CreateRequest, ListRequest } from "./schema/requests.js";
export { API_OPS, SERVICE_NAME, type ApiOp } from "./subjects.js";
