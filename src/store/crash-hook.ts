/**
 * A fault-injection hook for crash tests (test/integration/events-republish.test.ts):
 * with `CORRAL_TEST_CRASH_BEFORE_EVENT=<event name>` (or `*`) in its
 * environment, a process SIGKILLs itself right after the KV has acknowledged
 * a write with that event name and before the write's event is published,
 * the window in which a crash loses the event unless the re-publisher closes
 * it. Unset (always, outside tests), the hook is one comparison with
 * `undefined` per write and does nothing.
 *
 * Read here, not in src/config.ts: it is not a setting an operator may
 * choose, and it must be read once at load, before any write.
 */
const crashOn: string | undefined = process.env.CORRAL_TEST_CRASH_BEFORE_EVENT || undefined;

/** Kills this process (SIGKILL, no clean-up) when the hook names `event`. */
export function crashBeforeEventIfAsked(event: string): void {
  if (crashOn === undefined || (crashOn !== "*" && crashOn !== event)) return;
  process.kill(process.pid, "SIGKILL");
}
