/**
 * TEST DOUBLE of the node actor's part in auto-resume, for proxy tests written
 * before the node actor existed. It serves the node command `resume` on
 * `corral.v1.node.<nodeId>.resume` for one node id (msgpack request
 * `{op, sandboxId}`, reply `{ok: true, record}` with the stored record, or
 * `{ok: false, error: {code, message}}`), and serializes resumes per sandbox as the
 * one owning node actor does: concurrent requests make ONE transition
 * paused -> resuming -> running (two writes, two events), docker-unpausing
 * the container named by `internal.handle` in between.
 */
import type Docker from "dockerode";
import type { Msg, NatsConnection } from "@nats-io/nats-core";
import { decodeMsgpack } from "../../src/codec.js";
import type { ErrorCode } from "../../src/errors.js";
import { isSandboxId, type NodeId, type SandboxId } from "../../src/ids.js";
import { encodeNodeReply } from "../../src/node-protocol.js";
import type { StoredSandbox } from "../../src/schema/record.js";
import type { SandboxStore } from "../../src/store/sandbox-store.js";
import { subjects } from "../../src/subjects.js";

export interface FakeNodeOptions {
  nc: NatsConnection;
  /** The node it plays: records of other nodes have no owner answering. */
  nodeId: NodeId;
  store: SandboxStore;
  /** Unpauses `internal.handle` when it names a container (skipped for `null` handles). */
  docker?: Docker;
}

/** A running fake node: counters and knobs for the test. */
export interface FakeNode {
  /** Resume requests received, per sandbox. */
  readonly requests: Map<SandboxId, number>;
  /** paused -> resuming transitions made, per sandbox. */
  readonly transitions: Map<SandboxId, number>;
  /** Sandboxes whose resume is refused with `capacity_exhausted`. */
  readonly refuseCapacity: Set<SandboxId>;
  /** Holds every resume (before it reads the record) until the returned function is called. */
  holdResumes(): () => void;
  stop(): Promise<void>;
}

function reply(msg: Msg, record: StoredSandbox): void {
  msg.respond(encodeNodeReply({ ok: true, record }));
}

function replyError(msg: Msg, code: ErrorCode, message: string): void {
  msg.respond(encodeNodeReply({ ok: false, error: { code, message } }));
}

const bump = (m: Map<SandboxId, number>, id: SandboxId) => m.set(id, (m.get(id) ?? 0) + 1);

/** Starts serving `corral.v1.sandbox.resume`. */
export async function startFakeNode({ nc, nodeId, store, docker }: FakeNodeOptions): Promise<FakeNode> {
  const requests = new Map<SandboxId, number>();
  const transitions = new Map<SandboxId, number>();
  const refuseCapacity = new Set<SandboxId>();
  let held: Promise<void> = Promise.resolve();
  let releaseHeld = () => {};
  // The node actor's mailbox, reduced to a promise chain per sandbox.
  const mailbox = new Map<SandboxId, Promise<void>>();

  const resume = async (msg: Msg, id: SandboxId): Promise<void> => {
    await held;
    const current = await store.get(id);
    if (current === null) return replyError(msg, "not_found", `sandbox ${id} not found`);
    if (current.state === "killing" || current.state === "killed") return replyError(msg, "gone", `sandbox ${id} is ${current.state}`);
    if (current.state === "running") return reply(msg, current);
    if (current.state !== "paused") return replyError(msg, "conflict", `sandbox ${id} is ${current.state}`);
    if (refuseCapacity.has(id)) return replyError(msg, "capacity_exhausted", "no node has 512 MB of memory free");
    bump(transitions, id);
    const resuming = await store.mutate(id, (latest) => (latest.state === "paused" ? { record: { ...latest, state: "resuming" }, event: "resume" } : null));
    if (docker && resuming.internal.handle) await docker.getContainer(resuming.internal.handle).unpause();
    const now = Date.now();
    const running: StoredSandbox = await store.mutate(id, (latest) =>
      latest.state === "resuming" ? { record: { ...latest, state: "running", startedAt: now, endAt: now + latest.timeoutMs }, event: "resumed" } : null,
    );
    reply(msg, running);
  };

  const sub = nc.subscribe(subjects.node(nodeId, "resume"), {
    callback: (_err, msg) => {
      let id: unknown;
      try {
        id = decodeMsgpack<{ sandboxId?: unknown }>(msg.data).sandboxId;
      } catch {
        return replyError(msg, "invalid_argument", "body is not msgpack");
      }
      if (!isSandboxId(id)) return replyError(msg, "invalid_argument", "sandboxId is invalid");
      bump(requests, id);
      const prev = mailbox.get(id) ?? Promise.resolve();
      const next = prev.then(() => resume(msg, id)).catch((err: unknown) => replyError(msg, "internal", String(err)));
      mailbox.set(id, next);
    },
  });
  await nc.flush();
  return {
    requests,
    transitions,
    refuseCapacity,
    holdResumes() {
      held = new Promise((resolve) => (releaseHeld = resolve));
      return releaseHeld;
    },
    async stop() {
      // A test that failed while holding resumes must not hang the cleanup.
      releaseHeld();
      sub.unsubscribe();
      await Promise.allSettled(mailbox.values());
    },
  };
}
