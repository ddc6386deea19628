// DESIGN.md "Cluster", Hung node: a command whose caller has given up (its
// deadline has passed) is dropped, never executed late. A node checks the
// deadline when a command arrives and again when its turn comes in the
// sandbox's mailbox: a command queued behind a slow one of the same sandbox
// (a kill whose container removal hangs, a pause whose engine call hangs)
// reaches its turn after its caller has gone, and must then do nothing.
// Real nats-server, real node actor, process driver held at the engine call.
import { describe, expect, it } from "vitest";
import { resolveCreate } from "../../src/api/resolve-create.js";
import { withDeadline } from "../../src/deadline-header.js";
import { newSandboxId } from "../../src/ids.js";
import { NodeUnreachableError, requestNode, type NodeSuccess } from "../../src/node-protocol.js";
import { TemplateRegistry } from "../../src/templates.js";
import { FaultyDriver } from "../helpers/faulty-driver.js";
import { useNats } from "../helpers/fixture.js";
import { startNode, type TestNode } from "../helpers/node.js";
import { waitUntil } from "../helpers/wait.js";

const fixture = useNats();
const QUEUED_DEADLINE_MS = 300;

/** Starts a node whose driver a test can hold at an engine call. */
async function nodeWithFaults(): Promise<{ node: TestNode; faults: FaultyDriver }> {
  let faults!: FaultyDriver;
  const node = await startNode({ natsUrl: fixture.nats.url, prefix: "mbxdl", driver: "process", wrapDriver: (real) => (faults = new FaultyDriver(real)) });
  return { node, faults };
}

/** Sends `send` with a deadline `QUEUED_DEADLINE_MS` away; resolves with the node's error once the caller has given up. */
async function sendWithShortDeadline(send: () => Promise<NodeSuccess>): Promise<{ err: unknown; deadline: number }> {
  const deadline = Date.now() + QUEUED_DEADLINE_MS;
  const err = await withDeadline(deadline, send).then(
    () => null,
    (e: unknown) => e,
  );
  return { err, deadline };
}

describe("a command whose deadline passes while it waits for its turn", () => {
  it("kill queued behind a held pause is dropped: the sandbox is paused, then resumes", async () => {
    const { node, faults } = await nodeWithFaults();
    try {
      const sandbox = await node.client.create({});
      const release = faults.hold("pause");
      const pausing = requestNode(fixture.nc, node.nodeId, { op: "pause", sandboxId: sandbox.sandboxId }, 30_000);
      await waitUntil(() => faults.calls.pause === 1, { what: "the pause to reach the engine" });
      const { err, deadline } = await sendWithShortDeadline(() => requestNode(fixture.nc, node.nodeId, { op: "kill", sandboxId: sandbox.sandboxId }, 30_000));
      expect(err, "no reply: the kill waits behind the pause").toBeInstanceOf(NodeUnreachableError);
      await waitUntil(() => Date.now() > deadline, { what: "the kill's deadline" });
      release();
      expect((await pausing).record.state).toBe("paused");
      // Queued behind the kill's turn: by its reply, that turn has been taken (and found the kill's caller gone).
      const resumed = await requestNode(fixture.nc, node.nodeId, { op: "resume", sandboxId: sandbox.sandboxId }, 30_000);
      expect(resumed.record.state).toBe("running");
      expect(fixture.events.filter((e) => e.sandboxId === sandbox.sandboxId && e.event === "kill")).toEqual([]);
    } finally {
      await node.destroy();
    }
  });

  it("create queued behind a held kill of the same id is dropped: no new incarnation", async () => {
    const { node, faults } = await nodeWithFaults();
    try {
      const sandboxId = newSandboxId();
      const spec = resolveCreate({}, node.config, new TemplateRegistry());
      const first = await requestNode(fixture.nc, node.nodeId, { op: "create", sandboxId, spec }, 30_000);
      expect(first.record.internal.incarnation).toBe(1);
      const release = faults.hold("remove");
      const killing = requestNode(fixture.nc, node.nodeId, { op: "kill", sandboxId }, 30_000);
      await waitUntil(() => faults.calls.remove === 1, { what: "the kill's removal to reach the engine" });
      const { err, deadline } = await sendWithShortDeadline(() => requestNode(fixture.nc, node.nodeId, { op: "create", sandboxId, spec }, 30_000));
      expect(err, "no reply: the create waits behind the kill").toBeInstanceOf(NodeUnreachableError);
      await waitUntil(() => Date.now() > deadline, { what: "the create's deadline" });
      release();
      expect((await killing).record.state).toBe("killed");
      // A kill of a killed sandbox answers from its tombstone, after the create's turn.
      const after = await requestNode(fixture.nc, node.nodeId, { op: "kill", sandboxId }, 30_000);
      expect(after.record).toMatchObject({ state: "killed", internal: { incarnation: 1 } });
      expect(fixture.events.filter((e) => e.sandboxId === sandboxId && e.event === "create")).toHaveLength(1);
    } finally {
      await node.destroy();
    }
  });
});
