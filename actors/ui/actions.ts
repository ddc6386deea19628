/**
 * `POST /api/sandboxes/:id/<action>`: pause, resume, kill and set_timeout go
 * through the real API (CorralClient), so the UI has no lifecycle logic of its
 * own and answers with the API's record or its error, code and status intact.
 */
import type { IncomingMessage } from "node:http";
import type { CorralClient } from "../../src/client/client.js";
import { ForbiddenError, InvalidArgumentError } from "../../src/errors.js";
import type { SandboxRecord } from "../../src/schema/record.js";
import { readJsonObject } from "./http-util.js";
import { UI_ACTIONS, type UiAction } from "./wire.js";

/** True when `name` is one of the UI's actions. */
export function isUiAction(name: string): name is UiAction {
  return (UI_ACTIONS as readonly string[]).includes(name);
}

/**
 * Refuses cross-site requests: the UI has no login, so a page on another
 * origin must not be able to kill sandboxes through a visitor's browser. A
 * JSON content type cannot be sent cross-origin without a CORS preflight, which
 * this server never grants; a mismatching `Origin` is refused outright.
 */
export function checkSameOrigin(req: IncomingMessage): void {
  const type = req.headers["content-type"] ?? "";
  if (!type.startsWith("application/json")) throw new InvalidArgumentError("actions take Content-Type: application/json");
  const origin = req.headers.origin;
  if (origin !== undefined && origin !== "null") {
    let host: string;
    try {
      host = new URL(origin).host;
    } catch {
      throw new ForbiddenError("malformed Origin header");
    }
    if (host !== req.headers.host) throw new ForbiddenError(`cross-origin request from ${origin} refused`);
  }
}

/**
 * Runs `action` on `sandboxId` with the request's JSON body (`{timeoutMs}` for
 * set_timeout and, optionally, resume). The API validates the body: unknown
 * fields and bad numbers come back as its `invalid_argument`.
 */
export async function runAction(client: CorralClient, action: UiAction, sandboxId: string, req: IncomingMessage): Promise<SandboxRecord> {
  checkSameOrigin(req);
  const body = await readJsonObject(req);
  return client.request<SandboxRecord>(action, { ...body, sandboxId });
}
