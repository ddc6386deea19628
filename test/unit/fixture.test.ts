// The per-file fixture mechanism (test/helpers/fixture.ts) every integration
// fixture is built on: fields are readable once `beforeAll` ran (and refuse
// to be read before, by name), `ready` fields at once, and the cleanups a
// setup deferred run after the file's tests, the last deferred first.
import { afterAll, describe, expect, it } from "vitest";
import { useFixture } from "../helpers/fixture.js";

const cleaned: string[] = [];

describe("useFixture", () => {
  const fx = useFixture(
    "probe",
    async (defer) => {
      defer(() => cleaned.push("first"));
      defer(async () => {
        await Promise.resolve();
        cleaned.push("second");
      });
      return { value: 42, ready: [] as string[] };
    },
    { ready: ["at once"] },
  );
  let early: unknown;
  try {
    early = fx.value;
  } catch (err) {
    early = err;
  }

  it("refuses a field read before beforeAll ran, naming the fixture and the field", () => {
    expect(early).toBeInstanceOf(Error);
    expect((early as Error).message).toBe("probe: value read before beforeAll ran (read it inside a hook or test)");
  });

  it("answers the setup's fields inside tests, and the ready ones from the start", () => {
    expect(fx.value).toBe(42);
    expect(fx.ready).toEqual(["at once"]);
  });

  it("has run no cleanup while the file's tests run", () => {
    expect(cleaned).toEqual([]);
  });
});

afterAll(() => {
  // The describe's afterAll (the fixture's) ran before this file-level one.
  expect(cleaned).toEqual(["second", "first"]);
});
