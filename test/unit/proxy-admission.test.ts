// Proxy admission of a paused auto-resume sandbox (actors/proxy/admission.ts):
// the request goes on as soon as EITHER the owner's reply or the broadcast of
// the `running` record arrives, refusals come from the reply, and no waiter is
// left behind in the route table. Pure logic: an in-memory route table (its
// NATS side is never started) and a scripted resumer.
import pino from "pino";
import { describe, expect, it } from "vitest";
import { admit } from "../../actors/proxy/admission.js";
import type { AutoResumer, ResumeOutcome } from "../../actors/proxy/auto-resume.js";
import { RouteTable, type RouteSource } from "../../actors/proxy/route-table.js";
import type { NatsConnection } from "@nats-io/nats-core";
import type { StoredSandbox } from "../../src/schema/record.js";
import { makeStoredSandbox } from "../helpers/records.js";

const WAIT_MS = 2_000;

function paused(): StoredSandbox {
  return makeStoredSandbox({ state: "paused", endAt: null, lifecycle: { onTimeout: "pause", autoResume: true, idle: false }, internal: { secure: false } });
}

function tableWith(record: StoredSandbox): RouteTable {
  const source: RouteSource = {
    get: () => Promise.resolve(null),
    scan: async function* () {},
  };
  const table = new RouteTable({} as NatsConnection, source, pino({ level: "silent" }), { tombstoneMs: 60_000 });
  table.apply(record);
  return table;
}

/** Pending timers of this process: a route-table waiter holds one until it is settled. */
const timers = () => process.getActiveResourcesInfo().filter((kind) => kind === "Timeout").length;

/**
 * A paused auto-resume sandbox in a fresh table, and `admit` started on it
 * with a resumer whose one reply the test settles by hand (`answer`).
 */
async function admitPaused() {
  const r = paused();
  const table = tableWith(r);
  const calls: StoredSandbox[] = [];
  let answer: (o: ResumeOutcome) => void = () => {};
  const reply = new Promise<ResumeOutcome>((resolve) => (answer = resolve));
  const resumer = { resume: (record: StoredSandbox) => (calls.push(record), reply) } as unknown as AutoResumer;
  const timersBefore = timers();
  const admitted = admit(table, resumer, r.sandboxId, undefined, WAIT_MS);
  await Promise.resolve();
  return { r, table, calls, answer, admitted, timersBefore };
}

const next = (r: StoredSandbox, state: StoredSandbox["state"]): StoredSandbox => ({ ...r, state, revision: r.revision + 1 });

describe("admit: paused + autoResume", () => {
  it("goes on with the broadcast running record before the owner replies", async () => {
    const { r, table, calls, admitted } = await admitPaused();
    const resuming = next(r, "resuming");
    const running = { ...next(resuming, "running"), endAt: Date.now() + 60_000 };
    table.apply(resuming);
    table.apply(running);
    await expect(admitted).resolves.toEqual({ ok: true, record: running });
    expect(calls).toHaveLength(1);
  });

  it("goes on with the owner's reply when the broadcast has not arrived", async () => {
    const { r, table, answer, admitted, timersBefore } = await admitPaused();
    const running = { ...next(next(r, "resuming"), "running"), endAt: Date.now() + 60_000 };
    answer({ ok: true, record: running });
    await expect(admitted).resolves.toEqual({ ok: true, record: running });
    expect(table.get(r.sandboxId)).toEqual(running);
    expect(timers()).toBe(timersBefore);
  });

  it("answers the owner's refusal even though a resuming record was broadcast", async () => {
    const { r, table, answer, admitted, timersBefore } = await admitPaused();
    table.apply(next(r, "resuming"));
    answer({ ok: false, code: "capacity_exhausted", message: "node n1 cannot resume: 512 MB short" });
    await expect(admitted).resolves.toMatchObject({ ok: false, status: 503, retryAfterS: 5 });
    // The wait for a running broadcast was released, not left to its 2 s timeout.
    expect(timers()).toBe(timersBefore);
  });

  it("a resume that failed back to paused is answered from the reply, not guessed from the broadcast", async () => {
    const { r, table, answer, admitted } = await admitPaused();
    const resuming = next(r, "resuming");
    table.apply(resuming);
    table.apply(next(resuming, "paused"));
    answer({ ok: false, code: "unavailable", message: "engine refused the unpause" });
    await expect(admitted).resolves.toMatchObject({ ok: false, status: 503 });
  });
});
