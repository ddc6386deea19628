/**
 * The live feed: one EventSource on the UI server's `/api/stream` (the browser
 * never talks to NATS). EventSource reconnects by itself (the server asks for
 * a 1 s retry); every (re)connection starts with a status and a snapshot, so
 * nothing missed while disconnected stays missing.
 */
import type { StreamMessages } from "../wire.js";
import type { ClusterState } from "./state.js";

type Handlers = { [K in keyof StreamMessages]: (data: StreamMessages[K]) => void };

/** Opens the stream and feeds `state`; returns a function that closes it. */
export function connectLive(state: ClusterState, url = "api/stream"): () => void {
  const source = new EventSource(url);
  const handlers: Handlers = {
    snapshot: (data) => state.applySnapshot(data),
    transition: (data) => state.applyTransition(data),
    node: (data) => state.applyNode(data),
    status: (data) => state.setNats(data.nats),
  };
  for (const [name, handle] of Object.entries(handlers) as [keyof StreamMessages, (data: unknown) => void][]) {
    source.addEventListener(name, (event) => {
      state.setStreamOpen(true);
      handle(JSON.parse((event as MessageEvent<string>).data));
    });
  }
  source.addEventListener("open", () => state.setStreamOpen(true));
  // The browser retries on its own; until it succeeds the page says it is reconnecting.
  source.addEventListener("error", () => state.setStreamOpen(false));
  return () => source.close();
}
