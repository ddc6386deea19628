/**
 * The preamble of the Docker driver's integration tests, as one fixture: a
 * real engine (test/helpers/docker.ts), a `DockerDriver` on it, and a node id
 * and cluster id unique to the file. After the file the driver is closed and
 * every container labelled with the node id is removed (their ids printed).
 *
 *     const fx = useDockerDriver("drvdock");
 *     it("...", async () => { await fx.driver.start({ ...spec, nodeId: fx.nodeId }); });
 *
 * `docker` and `driver` can be read only inside hooks and tests.
 */
import type Docker from "dockerode";
import { afterAll, beforeAll } from "vitest";
import { DockerDriver } from "../../src/drivers/docker.js";
import { newClusterId, type ClusterId, type NodeId } from "../../src/ids.js";
import { removeContainersOf, requireDocker, testNodeId } from "./docker.js";

/** What a file gets from {@link useDockerDriver}. */
export interface DockerDriverFixture {
  readonly nodeId: NodeId;
  readonly clusterId: ClusterId;
  readonly docker: Docker;
  readonly driver: DockerDriver;
}

/** A Docker driver for this file, its containers labelled with a fresh `testNodeId(prefix)`. */
export function useDockerDriver(prefix: string): DockerDriverFixture {
  const nodeId = testNodeId(prefix);
  const clusterId = newClusterId();
  let started: { docker: Docker; driver: DockerDriver } | null = null;
  beforeAll(async () => {
    const docker = await requireDocker();
    started = { docker, driver: new DockerDriver({ docker }) };
  });
  afterAll(async () => {
    if (!started) return;
    await started.driver.close();
    const left = await removeContainersOf(started.docker, nodeId);
    if (left.length > 0) console.info(`${prefix}: removed leftover containers ${left.join(" ")}`);
  });
  const get = () => {
    if (!started) throw new Error("useDockerDriver: docker and driver can be read only after beforeAll ran");
    return started;
  };
  return {
    nodeId,
    clusterId,
    get docker() {
      return get().docker;
    },
    get driver() {
      return get().driver;
    },
  };
}
