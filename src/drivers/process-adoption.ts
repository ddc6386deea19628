/**
 * Adoption files of the process driver:
 * `<dataDir>/sandboxes/<clusterId>-<sandboxId>-<incarnation>.json`, one per live sandbox, written when it starts and deleted when it is removed.
 * They are how a restarted node finds the processes its predecessor started
 * (sandboxes outlive the node process). Written atomically (temp + rename) so
 * a crash never leaves a half-written file. Each names its cluster, so two
 * clusters sharing a data dir (same node id, same working directory) never
 * list, adopt or remove each other's processes; files written before cluster
 * ids have none (and the old name, `<sandboxId>-<incarnation>.json`).
 */
import fs from "node:fs/promises";
import path from "node:path";
import { z } from "zod";
import { ClusterIdSchema, NodeIdSchema, SandboxIdSchema } from "../schema/record.js";

export const AdoptionRecordSchema = z.strictObject({
  sandboxId: SandboxIdSchema,
  nodeId: NodeIdSchema,
  /** Absent in files written before cluster ids. */
  clusterId: ClusterIdSchema.optional(),
  incarnation: z.number().int().positive(),
  pid: z.number().int().min(2),
  /** Field 22 of /proc/<pid>/stat when the process was started. */
  startTime: z.string().regex(/^\d+$/),
  /** Loopback port the template's ready port is mapped to. */
  port: z.number().int().min(1).max(65535),
  /** The template's port inside the sandbox (the endpoint's key). */
  readyPort: z.number().int().min(1).max(65535),
});
/** The content of one adoption file. */
export type AdoptionRecord = z.infer<typeof AdoptionRecordSchema>;

/** Paths of one sandbox's files under the driver's data dir. */
export interface SandboxPaths {
  /** `<dataDir>/sandboxes/<clusterId>-<sandboxId>-<incarnation>`: the sandbox's private dir (`{dir}`). */
  dir: string;
  /** `<dataDir>/sandboxes/<clusterId>-<sandboxId>-<incarnation>.json`. */
  adoptionFile: string;
}

/** The directory holding every sandbox dir and adoption file. */
export function sandboxesDir(dataDir: string): string {
  return path.join(dataDir, "sandboxes");
}

/** Paths for one incarnation of a sandbox (without a cluster: a file written before cluster ids). */
export function sandboxPaths(dataDir: string, of: Pick<AdoptionRecord, "clusterId" | "sandboxId" | "incarnation">): SandboxPaths {
  const stem = `${of.sandboxId}-${of.incarnation}`;
  const base = path.join(sandboxesDir(dataDir), of.clusterId ? `${of.clusterId}-${stem}` : stem);
  return { dir: base, adoptionFile: `${base}.json` };
}

/** Writes an adoption file atomically. */
export async function writeAdoption(file: string, record: AdoptionRecord): Promise<void> {
  const tmp = `${file}.tmp`;
  await fs.writeFile(tmp, JSON.stringify(record));
  await fs.rename(tmp, file);
}

/**
 * Reads every adoption file; unreadable or invalid files are reported through
 * `onInvalid` and skipped (one corrupt file must not hide the other sandboxes).
 */
export async function readAdoptions(dataDir: string, onInvalid: (file: string, err: unknown) => void): Promise<AdoptionRecord[]> {
  const dir = sandboxesDir(dataDir);
  let names: string[];
  try {
    names = await fs.readdir(dir);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return [];
    throw err;
  }
  const files = names.filter((n) => n.endsWith(".json")).map((n) => path.join(dir, n));
  const records = await Promise.all(
    files.map(async (file) => {
      try {
        return AdoptionRecordSchema.parse(JSON.parse(await fs.readFile(file, "utf8")));
      } catch (err) {
        // Removed between readdir and read: not invalid, just gone.
        if ((err as NodeJS.ErrnoException).code !== "ENOENT") onInvalid(file, err);
        return null;
      }
    }),
  );
  return records.filter((r): r is AdoptionRecord => r !== null);
}

/** Deletes a sandbox's dir and adoption file (idempotent). */
export async function deleteSandboxFiles(paths: SandboxPaths): Promise<void> {
  await fs.rm(paths.adoptionFile, { force: true });
  await fs.rm(paths.dir, { recursive: true, force: true });
}
