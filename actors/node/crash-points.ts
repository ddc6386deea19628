/**
 * Crash points for the crash tests (test/integration/node-crash-points.test.ts):
 * `CORRAL_CRASH_AT=<op>:<when>` makes a `corral node` process SIGKILL itself
 * at the first engine call `op` (`start`, `pause`, `resume`, `remove`, or a
 * warm pool's `claimMember`, test/integration/node-warm.test.ts),
 * `before` it (the operation's intent is stored by then: the machine calls
 * the engine only once it is) or `after` it (the engine did it; its outcome
 * is not stored). A real SIGKILL of a real process: nothing is flushed or
 * released. Unset (always, outside those tests) the driver is used as is.
 */
import { z } from "zod";
import type { SandboxDriver } from "../../src/drivers/types.js";
import { InvalidArgumentError } from "../../src/errors.js";

const CRASH_AT = z.string().regex(/^(start|pause|resume|remove|claimMember):(before|after)$/, "expected <start|pause|resume|remove|claimMember>:<before|after>");

type CrashOp = "start" | "pause" | "resume" | "remove" | "claimMember";

function die(): never {
  process.kill(process.pid, "SIGKILL");
  // SIGKILL is delivered before this line runs; the throw only satisfies the type.
  throw new Error("unreachable: SIGKILL");
}

/** `driver`, or `driver` with the crash point `spec` (the value of `CORRAL_CRASH_AT`) armed. */
export function withCrashPoint(driver: SandboxDriver, spec: string | undefined): SandboxDriver {
  if (spec === undefined || spec === "") return driver;
  const parsed = CRASH_AT.safeParse(spec);
  if (!parsed.success) throw new InvalidArgumentError(`CORRAL_CRASH_AT: ${parsed.error.issues[0]?.message ?? "invalid"}, got ${JSON.stringify(spec)}`);
  const [op, when] = parsed.data.split(":") as [CrashOp, "before" | "after"];
  return new Proxy(driver, {
    get(target, key, receiver) {
      const value: unknown = Reflect.get(target, key, receiver);
      if (key !== op || typeof value !== "function") return typeof value === "function" ? value.bind(target) : value;
      return async (...args: unknown[]) => {
        if (when === "before") die();
        await (value as (...a: unknown[]) => Promise<unknown>).apply(target, args);
        die();
      };
    },
  });
}
