/**
 * Requests to the UI server's JSON API. Failures become `ApiError` carrying
 * the contract's code and message, exactly as the server (and behind it the
 * Corral API) answered, so the views can show them as they are.
 */
import type { ChartLayout, History, UiAction, WireRecord } from "../wire.js";

/** A failed request: the contract's error code (`conflict`, `gone`, ...) and message. */
export class ApiError extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = "ApiError";
  }
}

async function request<T>(path: string, init?: RequestInit): Promise<T> {
  let res: Response;
  try {
    res = await fetch(path, { ...init, headers: { Accept: "application/json", ...init?.headers } });
  } catch {
    throw new ApiError("unavailable", "the UI server cannot be reached");
  }
  const text = await res.text();
  let body: unknown;
  try {
    body = text === "" ? null : JSON.parse(text);
  } catch {
    body = null;
  }
  if (!res.ok) {
    const error = (body as { error?: { code?: unknown; message?: unknown } } | null)?.error;
    throw new ApiError(typeof error?.code === "string" ? error.code : `http_${res.status}`, typeof error?.message === "string" ? error.message : text || res.statusText);
  }
  return body as T;
}

/** The state chart of the sandbox machine, laid out. */
export function fetchMachine(): Promise<ChartLayout> {
  return request<ChartLayout>("api/machine");
}

/** A sandbox's events from CORRAL_EVENTS, oldest first. */
export function fetchHistory(sandboxId: string): Promise<History> {
  return request<History>(`api/sandboxes/${encodeURIComponent(sandboxId)}/history`);
}

/** Runs an action through the Corral API; resolves with the record it answered. */
export function postAction(sandboxId: string, action: UiAction, body: Record<string, unknown> = {}): Promise<WireRecord> {
  return request<WireRecord>(`api/sandboxes/${encodeURIComponent(sandboxId)}/${action}`, {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify(body),
  });
}
