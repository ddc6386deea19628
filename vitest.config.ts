import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    projects: [
      {
        test: {
          name: "unit",
          include: ["test/unit/**/*.test.ts"],
          testTimeout: 10_000,
          // Each project with its own maxWorkers needs its own group.
          sequence: { groupOrder: 0 },
        },
      },
      {
        test: {
          name: "integration",
          include: ["test/integration/**/*.test.ts"],
          globalSetup: ["test/helpers/build-dist.ts"],
          testTimeout: 120_000,
          hookTimeout: 120_000,
          // Files run in parallel (each with its own nats-server); most of their
          // time is spent waiting on Docker and NATS, so 4 fit on 2 cores.
          pool: "forks",
          maxWorkers: 4,
          minWorkers: 1,
          sequence: { groupOrder: 1 },
        },
      },
    ],
  },
});
