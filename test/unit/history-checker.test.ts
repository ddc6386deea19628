// The history checker (issue 14, item 6) on hand-made histories: a clean one
// passes, and each anomaly it exists for is found, alone, in a history that is
// clean but for it.
import { describe, expect, it } from "vitest";
import { REPUBLISHED_EVENT, type SandboxEvent } from "../../src/events.js";
import type { NodeId, SandboxId } from "../../src/ids.js";
import { toPublicRecord, type SandboxState, type StoredSandbox } from "../../src/schema/record.js";
import { checkHistory } from "../history/checker.js";
import type { AnomalyKind, History, OpRecord } from "../history/types.js";
import { makeStoredSandbox } from "../helpers/records.js";

const T0 = 1_800_000_000_000;
const MAX_LIFETIME_MS = 86_400_000;

/** One sandbox's writes: create (starting) -> started (running), with helpers to append more. */
class Story {
  readonly events: SandboxEvent[] = [];
  record: StoredSandbox;
  #revision: number;

  constructor(startRevision: number, overrides: Parameters<typeof makeStoredSandbox>[0] = {}) {
    this.#revision = startRevision;
    this.record = makeStoredSandbox({ state: "starting", createdAt: T0, startedAt: null, endAt: null, lastActiveAt: null, ...overrides });
    this.write("create", { state: "starting" }, T0, null);
    this.write("started", { state: "running", startedAt: T0 + 100, endAt: T0 + 100 + 300_000, lastActiveAt: T0 + 100 }, T0 + 100);
  }

  get id(): SandboxId {
    return this.record.sandboxId;
  }

  /** Appends a write; `from` defaults to the previous record's state. */
  write(event: string, change: Partial<StoredSandbox>, at: number, from: SandboxState | null = this.events.at(-1)?.to ?? null): SandboxEvent {
    this.#revision += 10;
    this.record = { ...this.record, ...change, revision: this.#revision };
    const e: SandboxEvent = { sandboxId: this.id, from, to: this.record.state, event, revision: this.#revision, at, nodeId: "node-1" as NodeId, record: this.record };
    this.events.push(e);
    return e;
  }
}

const op = (o: Partial<OpRecord> & Pick<OpRecord, "op" | "startMs" | "endMs">): OpRecord => ({ client: 1, args: {}, ...o });
const reply = (record: StoredSandbox) => toPublicRecord(record);

/** A clean history: create, set_timeout, pause, get, resume, refresh, kill of one sandbox; list; a create-with-key after the kill. */
function cleanHistory(): { history: History; story: Story } {
  const s = new Story(1, { internal: { key: "thread-1" } });
  const ops: OpRecord[] = [op({ op: "create", args: { key: "thread-1" }, startMs: T0 - 5, endMs: T0 + 110, reply: { ...reply(s.record), created: true, trafficToken: "tok" } })];
  s.write("set_timeout", { endAt: T0 + 1_000 + 60_000 }, T0 + 1_000);
  ops.push(op({ op: "set_timeout", args: { sandboxId: s.id, timeoutMs: 60_000 }, startMs: T0 + 999, endMs: T0 + 1_002, reply: reply(s.record) }));
  s.write("pause", { state: "pausing" }, T0 + 2_000);
  s.write("paused", { state: "paused", endAt: null }, T0 + 2_050);
  ops.push(op({ op: "pause", args: { sandboxId: s.id }, startMs: T0 + 1_999, endMs: T0 + 2_060, reply: reply(s.record) }));
  ops.push(op({ op: "get", client: 2, args: { sandboxId: s.id }, startMs: T0 + 2_070, endMs: T0 + 2_071, reply: reply(s.record) }));
  ops.push(op({ op: "list", client: 2, args: {}, startMs: T0 + 2_072, endMs: T0 + 2_073, reply: { items: [reply(s.record)], nextCursor: null } }));
  s.write("resume", { state: "resuming" }, T0 + 3_000);
  s.write("resumed", { state: "running", startedAt: T0 + 3_050, endAt: T0 + 3_050 + 300_000 }, T0 + 3_050);
  ops.push(op({ op: "resume", args: { sandboxId: s.id }, startMs: T0 + 2_999, endMs: T0 + 3_060, reply: reply(s.record) }));
  s.write("refresh", { endAt: T0 + 4_000 + 600_000 }, T0 + 4_000);
  ops.push(op({ op: "refresh", args: { sandboxId: s.id, durationMs: 600_000 }, startMs: T0 + 3_999, endMs: T0 + 4_001, reply: reply(s.record) }));
  s.write("kill", { state: "killing" }, T0 + 5_000);
  // Its writer's own event was lost; the re-publisher's copy arrives late, with the right record: not an anomaly.
  const killed = s.write("killed", { state: "killed", killReason: "request", internal: { ...s.record.internal, killedAt: T0 + 5_050 } }, T0 + 5_050);
  s.events.push({ ...s.events.pop()!, event: REPUBLISHED_EVENT, from: null });
  ops.push(op({ op: "kill", args: { sandboxId: s.id }, startMs: T0 + 4_999, endMs: T0 + 5_060, reply: reply(killed.record) }));
  ops.push(op({ op: "pause", args: { sandboxId: s.id }, startMs: T0 + 5_100, endMs: T0 + 5_101, errorCode: "gone" }));
  s.write("create", { state: "starting", createdAt: T0 + 6_000, startedAt: null, endAt: null, killReason: null, internal: { ...s.record.internal, incarnation: 2, killedAt: null } }, T0 + 6_000);
  s.write("started", { state: "running", startedAt: T0 + 6_100, endAt: T0 + 6_100 + 300_000 }, T0 + 6_100);
  ops.push(op({ op: "create", args: { key: "thread-1" }, startMs: T0 + 5_999, endMs: T0 + 6_110, reply: { ...reply(s.record), created: true, trafficToken: "tok2" } }));
  return { history: { ops, events: s.events, maxLifetimeMs: MAX_LIFETIME_MS }, story: s };
}

const kinds = (h: History): AnomalyKind[] => checkHistory(h).map((a) => a.kind);

describe("checkHistory", () => {
  it("finds nothing in a clean history (a late re-published event and a new incarnation by key included)", () => {
    expect(checkHistory(cleanHistory().history)).toEqual([]);
  });

  it("revision_order: a writer's event reaches the stream after a newer one", () => {
    const { history } = cleanHistory();
    const [a, b] = [history.events[2]!, history.events[3]!];
    history.events.splice(2, 2, b, a);
    expect(kinds(history)).toEqual(["revision_order"]);
  });

  it("two_records_one_revision: a second, different record at one revision", () => {
    const { history } = cleanHistory();
    const e = history.events[2]!;
    history.events.push({ ...e, event: REPUBLISHED_EVENT, record: { ...e.record, endAt: e.record.endAt! + 1 } });
    expect(kinds(history)).toEqual(["two_records_one_revision"]);
  });

  it("not_a_lifecycle_row: running -> paused without pausing", () => {
    const { history, story } = cleanHistory();
    story.write("paused", { state: "paused", endAt: null }, T0 + 7_000);
    expect(kinds(history)).toEqual(["not_a_lifecycle_row", "not_a_lifecycle_row"]);
  });

  it("missing_write: an event whose from is not the previous event's state (a write without its event)", () => {
    const { history } = cleanHistory();
    // Drop the `pausing` write's event: `paused` then says from pausing after a running record.
    const i = history.events.findIndex((e) => e.to === "pausing");
    history.events.splice(i, 1);
    expect(kinds(history).sort()).toEqual(["missing_write", "not_a_lifecycle_row"]);
  });

  it("reply_not_in_history: an ok reply with a record that was never written", () => {
    const { history } = cleanHistory();
    const st = history.ops.find((o) => o.op === "set_timeout")!;
    st.reply = { ...(st.reply as object), endAt: T0 + 999_999 };
    expect(kinds(history)).toContain("reply_not_in_history");
  });

  it("reply_not_in_history: an ok reply at a revision the history has no event for", () => {
    const { history } = cleanHistory();
    const g = history.ops.find((o) => o.op === "get")!;
    g.reply = { ...(g.reply as object), revision: (g.reply as { revision: number }).revision + 1 };
    // The list right after it answers the real (lower) revision: stale against that phantom one, too.
    expect(kinds(history).sort()).toEqual(["reply_not_in_history", "stale_reply"]);
  });

  it("reply_wrong_state and stale_reply: an ok pause that answers the old running record", () => {
    const { history } = cleanHistory();
    const p = history.ops.find((o) => o.op === "pause")!;
    const running = history.events.find((e) => e.event === "set_timeout")!;
    p.reply = toPublicRecord(running.record);
    // The old record is in the history, but it is not paused, and older than... nothing ended before; add a get that did.
    history.ops.push(op({ op: "get", client: 3, args: {}, startMs: p.startMs - 10, endMs: p.startMs - 1, reply: toPublicRecord(history.events.find((e) => e.to === "pausing")!.record) }));
    expect(kinds(history).sort()).toEqual(["reply_wrong_state", "stale_reply"]);
  });

  it("killed_came_back: a record of a killed incarnation that is live again", () => {
    const { history, story } = cleanHistory();
    history.events.splice(history.events.findIndex((e) => e.event === "create" && e.record.internal.incarnation === 2));
    history.ops.pop();
    story.write("resumed", { state: "running", internal: { ...story.record.internal, incarnation: 1 } }, T0 + 8_000, "killed");
    expect(kinds(history)).toContain("killed_came_back");
  });

  it("killed_came_back: a new incarnation that was not a create with a key", () => {
    const { history } = cleanHistory();
    for (const e of history.events) if (e.record.internal.incarnation === 2) e.record = { ...e.record, internal: { ...e.record.internal, key: null } };
    expect(kinds(history)).toContain("killed_came_back");
  });

  it("end_at_mismatch: an ok set_timeout whose persisted endAt is not now + timeoutMs", () => {
    const { history, story } = cleanHistory();
    // The write and the reply agree, but the deadline is the old one (the request's change was not persisted).
    const e = story.write("set_timeout", { endAt: T0 + 1_000 + 60_000 }, T0 + 9_000);
    history.ops.push(op({ op: "set_timeout", args: { sandboxId: story.id, timeoutMs: 30_000 }, startMs: T0 + 8_999, endMs: T0 + 9_001, reply: toPublicRecord(e.record) }));
    expect(kinds(history)).toEqual(["end_at_mismatch"]);
  });

  it("end_at_mismatch: an ok refresh that is shorter than asked", () => {
    const { history } = cleanHistory();
    const r = history.ops.find((o) => o.op === "refresh")!;
    r.args = { ...r.args, durationMs: 900_000 };
    // Its write is then also no request's now + duration.
    expect(kinds(history)).toEqual(["end_at_mismatch", "late_deadline_move"]);
  });

  it("ghost_create: an incarnation created after its create's caller had given up", () => {
    const { history } = cleanHistory();
    const last = history.ops.at(-1)!;
    // The create of incarnation 2 answered unavailable before the node acted (it woke from a stall later).
    history.ops[history.ops.length - 1] = { ...last, startMs: T0 + 3_990, endMs: T0 + 5_990, reply: undefined, errorCode: "unavailable" };
    expect(kinds(history)).toEqual(["ghost_create"]);
  });

  it("a connect to a running sandbox writes a refresh by its timeoutMs (the stored one by default): nothing late", () => {
    const { history, story } = cleanHistory();
    const e = story.write("refresh", { endAt: T0 + 8_000 + story.record.timeoutMs }, T0 + 8_000);
    history.ops.push(op({ op: "connect", args: { sandboxId: story.id }, startMs: T0 + 7_999, endMs: T0 + 8_002, reply: { resumed: false, sandbox: toPublicRecord(e.record) } }));
    expect(kinds(history)).toEqual([]);
    history.ops.at(-1)!.args = { sandboxId: story.id, timeoutMs: 1_000 };
    expect(kinds(history)).toEqual(["late_deadline_move"]);
  });

  it("writes from before the first recorded request (an earlier run on the same stream) are not checked for lateness", () => {
    const { history } = cleanHistory();
    history.ops = history.ops.filter((o) => o.startMs >= T0 + 4_999);
    expect(kinds(history)).toEqual([]);
  });

  it("late_deadline_move: a set_timeout written from a now after its caller had given up", () => {
    const { history, story } = cleanHistory();
    history.ops.push(op({ op: "set_timeout", args: { sandboxId: story.id, timeoutMs: 45_000 }, startMs: T0 + 7_000, endMs: T0 + 17_000, errorCode: "unavailable" }));
    story.write("set_timeout", { endAt: T0 + 20_000 + 45_000 }, T0 + 20_000);
    expect(kinds(history)).toEqual(["late_deadline_move"]);
  });

  it("a refresh that keeps the endAt of a write known only from its re-published event moves nothing: not late", () => {
    const { history, story } = cleanHistory();
    // A set_timeout whose reply was lost (unavailable) but whose write landed; its own event was lost and re-published.
    history.ops.push(op({ op: "set_timeout", args: { sandboxId: story.id, timeoutMs: 900_000 }, startMs: T0 + 7_000, endMs: T0 + 17_000, errorCode: "unavailable" }));
    story.write("set_timeout", { endAt: T0 + 7_001 + 900_000 }, T0 + 7_001);
    story.events.push({ ...story.events.pop()!, event: REPUBLISHED_EVENT });
    // A refresh (default duration) shorter than what is left keeps that endAt.
    const kept = story.write("refresh", {}, T0 + 9_000);
    history.ops.push(op({ op: "refresh", args: { sandboxId: story.id }, startMs: T0 + 8_999, endMs: T0 + 9_002, reply: toPublicRecord(kept.record) }));
    expect(kinds(history)).toEqual([]);
  });

  it("internal_error: an internal error reply", () => {
    const { history } = cleanHistory();
    history.ops.push(op({ op: "set_timeout", args: { sandboxId: "x" }, startMs: T0, endMs: T0 + 1, errorCode: "internal" }));
    expect(kinds(history)).toEqual(["internal_error"]);
  });
});
