/**
 * The comparison the driver and node suites share: create -> HTTP ready,
 * pause / resume (freeze) and removal of Corral's sandboxes against raw
 * dockerode on the same engine, interleaved round by round. The suites only
 * say how Corral does each operation; targets are issue 4's.
 */
import type Dockerode from "dockerode";
import type { ContractFloor } from "../floors/contract-floor.js";
import { alternate, alternateCycles, latencyRows, type Step } from "./measure.js";
import { DockerRaceRetry, rawCreateReady, type RawSandbox } from "./raw-docker.js";
import { pairedDeltaP50, timeMs } from "./stats.js";
import type { SuiteContext, SuiteResult } from "./types.js";

/** How Corral does each operation on one of its sandboxes (`H`: a handle or a sandbox id). */
export interface CorralOps<H> {
  /** Creates a sandbox and waits until `GET /id` answers; resolves with the ms that took. */
  create(): Promise<{ ms: number; sandbox: H }>;
  pause(sandbox: H): Promise<unknown>;
  resume(sandbox: H): Promise<unknown>;
  /** Removes (kills) the sandbox; the metric is named by `removeMetric`. */
  remove(sandbox: H): Promise<unknown>;
}

/** Counts of the comparison. */
export interface CompareParams {
  creates: number;
  pauses: number;
  warmup: number;
}

/**
 * Runs the four comparisons; every raw container is labelled `rawLabel`
 * (removed by the caller's cleanup). Each Corral sandbox made is removed by
 * the removal rounds. With `startFloor` (called with the sandbox the pause
 * cycles use, once the creates are done), pause and resume are also compared
 * with the contract's floor (bench/floors), all three sides interleaved.
 */
export async function compareWithRawDocker<H>(
  ctx: Pick<SuiteContext, "progress"> & { suite: string; docker: Dockerode; rawLabel: string },
  { creates, pauses, warmup }: CompareParams,
  corral: CorralOps<H>,
  removeMetric: string,
  startFloor?: (first: H) => Promise<Pick<ContractFloor, "pause" | "resume">>,
): Promise<SuiteResult> {
  const { docker, rawLabel, progress, suite } = ctx;
  const raws: RawSandbox[] = [];
  const ours: H[] = [];
  progress(`${suite}: ${creates + warmup} creates per side`);
  const create = latencyRows(
    "create -> HTTP ready",
    await alternate(
      creates,
      warmup,
      async () => {
        const { ms, sandbox } = await rawCreateReady(docker, rawLabel);
        raws.push(sandbox);
        return ms;
      },
      async () => {
        const { ms, sandbox } = await corral.create();
        ours.push(sandbox);
        return ms;
      },
    ),
    { p50: { kind: "ratio", max: 1.1 } },
  );

  progress(`${suite}: ${pauses + warmup} pause/resume cycles per side`);
  const rawBox = raws[0]!.container;
  const ourBox = ours[0]!;
  const races = { baseline: new DockerRaceRetry(), corral: new DockerRaceRetry(), floor: new DockerRaceRetry() };
  const sides: [Step, Step][] = [
    [() => races.baseline.run(() => rawBox.pause()), () => races.baseline.run(() => rawBox.unpause())],
    [() => races.corral.run(() => corral.pause(ourBox)), () => races.corral.run(() => corral.resume(ourBox))],
  ];
  const floor = startFloor ? await startFloor(ourBox) : undefined;
  if (floor) sides.push([() => races.floor.run(floor.pause), () => races.floor.run(floor.resume)]);
  const [rawCycles, ourCycles, floorCycles] = await alternateCycles(pauses, warmup, sides);
  const pause = latencyRows("pause (freeze)", { baseline: rawCycles!.first, corral: ourCycles!.first }, { p50: { kind: "delta", max: 3 } });
  const resume = latencyRows("resume (freeze)", { baseline: rawCycles!.second, corral: ourCycles!.second }, { p50: { kind: "delta", max: 3 } });
  const overFloor = floorCycles
    ? [
        latencyRows("pause over the contract floor", { baseline: floorCycles.first, corral: ourCycles!.first }, {}, { pairedDelta: true }),
        latencyRows("resume over the contract floor", { baseline: floorCycles.second, corral: ourCycles!.second }, {}, { pairedDelta: true }),
      ]
    : [];

  const rounds = Math.min(raws.length, ours.length);
  progress(`${suite}: ${rounds} removals per side`);
  const remove = latencyRows(
    removeMetric,
    await alternate(
      rounds,
      0,
      () => timeMs(() => raws.pop()!.container.remove({ force: true })),
      () => timeMs(() => corral.remove(ours.pop()!)),
    ),
    { p50: { kind: "delta", max: 5 } },
  );
  return {
    rows: [...create.rows, ...pause.rows, ...resume.rows, ...overFloor.flatMap((r) => r.rows), ...remove.rows],
    notes: [
      "baseline = raw dockerode, same image and container config; both create paths end when GET /id answers the id",
      `the first ${warmup} round(s) per side are warm-up, not recorded`,
      `engine pause-flag races retried: raw ${races.baseline.count}, corral ${races.corral.count}${floor ? `, floor ${races.floor.count}` : ""} (see DockerRaceRetry)`,
      ...(floorCycles ? [floorNote(rawCycles!, floorCycles)] : []),
    ],
    details: {
      create: create.summaries,
      pause: pause.summaries,
      resume: resume.summaries,
      remove: remove.summaries,
      ...(overFloor.length ? { pauseOverFloor: overFloor[0]!.summaries, resumeOverFloor: overFloor[1]!.summaries } : {}),
    },
  };
}

/** What the contract's own round trips cost over raw docker (paired p50 of the floor against raw). */
function floorNote(raw: { first: number[]; second: number[] }, floor: { first: number[]; second: number[] }): string {
  const paired = (a: number[], b: number[]) => pairedDeltaP50({ baseline: b, corral: a }).toFixed(2);
  return (
    "contract floor = bench/floors/contract-floor.ts (raw nats.js + dockerode: request, intent CAS acknowledged, then the engine call, outcome CAS + event, reply: write-ahead); " +
    `floor over raw docker, paired p50: pause +${paired(floor.first, raw.first)} ms, resume +${paired(floor.second, raw.second)} ms`
  );
}
