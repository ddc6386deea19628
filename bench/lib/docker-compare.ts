/**
 * The comparison the driver and node suites share: create -> HTTP ready,
 * pause / resume (freeze) and removal of Corral's sandboxes against raw
 * dockerode on the same engine, interleaved round by round. The suites only
 * say how Corral does each operation; targets are issue 4's.
 */
import type Dockerode from "dockerode";
import { alternate, alternateCycle, latencyRows } from "./measure.js";
import { DockerRaceRetry, rawCreateReady, type RawSandbox } from "./raw-docker.js";
import { timeMs } from "./stats.js";
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
 * the removal rounds.
 */
export async function compareWithRawDocker<H>(
  ctx: Pick<SuiteContext, "progress"> & { suite: string; docker: Dockerode; rawLabel: string },
  { creates, pauses, warmup }: CompareParams,
  corral: CorralOps<H>,
  removeMetric: string,
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
  const races = { baseline: new DockerRaceRetry(), corral: new DockerRaceRetry() };
  const [pauseSamples, resumeSamples] = await alternateCycle(
    pauses,
    warmup,
    [() => races.baseline.run(() => rawBox.pause()), () => races.baseline.run(() => rawBox.unpause())],
    [() => races.corral.run(() => corral.pause(ourBox)), () => races.corral.run(() => corral.resume(ourBox))],
  );
  const pause = latencyRows("pause (freeze)", pauseSamples, { p50: { kind: "delta", max: 3 } });
  const resume = latencyRows("resume (freeze)", resumeSamples, { p50: { kind: "delta", max: 3 } });

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
    rows: [...create.rows, ...pause.rows, ...resume.rows, ...remove.rows],
    notes: [
      "baseline = raw dockerode, same image and container config; both create paths end when GET /id answers the id",
      `the first ${warmup} round(s) per side are warm-up, not recorded`,
      `engine pause-flag races retried: raw ${races.baseline.count}, corral ${races.corral.count} (see DockerRaceRetry)`,
    ],
    details: { create: create.summaries, pause: pause.summaries, resume: resume.summaries, remove: remove.summaries },
  };
}
