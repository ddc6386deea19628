/**
 * Preloaded (NODE_OPTIONS=--import) into child node processes when env
 * CORRAL_BENCH_CPU_PROF=<dir> is set: runs the V8 CPU profiler for the whole
 * life of the process and writes <dir>/<pid>.cpuprofile at exit. (Node
 * refuses `--cpu-prof` in NODE_OPTIONS, and `corral node` children are
 * spawned by the test helper, whose flags the bench does not control.)
 * Same-thread inspector sessions answer synchronously, so the profile can be
 * taken in the 'exit' handler.
 */
import fs from "node:fs";
import { Session } from "node:inspector";
import path from "node:path";

const dir = process.env.CORRAL_BENCH_CPU_PROF;
if (dir) {
  const session = new Session();
  session.connect();
  session.post("Profiler.enable");
  session.post("Profiler.start");
  process.on("exit", () => {
    session.post("Profiler.stop", (err, result) => {
      if (err) return;
      fs.mkdirSync(dir, { recursive: true });
      fs.writeFileSync(path.join(dir, `${path.basename(process.argv[1] ?? "node")}-${process.pid}.cpuprofile`), JSON.stringify(result.profile));
    });
  });
}
