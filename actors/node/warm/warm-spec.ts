/**
 * `--warm TEMPLATE=N` (repeatable) and `CORRAL_WARM` (the same pairs,
 * comma-separated): how many started-and-frozen members the node keeps per
 * template (DESIGN.md "Warm pool"). Validated at start-up: an unknown
 * template, a malformed pair, a count that is not a whole number 1..1000 or a
 * template named twice is `invalid_argument` naming the value. The flags,
 * when given, replace the environment (as every other node flag does).
 */
import { z } from "zod";
import { InvalidArgumentError } from "../../../src/errors.js";
import type { TemplateRegistry } from "../../../src/templates.js";

/** Largest pool of one template: a typo (`base=10000`) must not freeze a node. */
export const MAX_WARM_PER_TEMPLATE = 1_000;

const CountSchema = z.coerce.number().int().min(1).max(MAX_WARM_PER_TEMPLATE);

/** Template name -> wanted member count (templates with no pool are absent). */
export type WarmSpec = ReadonlyMap<string, number>;

function parsePair(source: string, pair: string, templates: TemplateRegistry, out: Map<string, number>): void {
  const i = pair.indexOf("=");
  if (i <= 0) throw new InvalidArgumentError(`${source}: expected TEMPLATE=N, got ${JSON.stringify(pair)}`);
  const name = pair.slice(0, i);
  const countText = pair.slice(i + 1);
  try {
    templates.get(name);
  } catch {
    throw new InvalidArgumentError(`${source}: template ${JSON.stringify(name)} does not exist (known: ${templates.names().join(", ")})`);
  }
  const count = /^\d+$/.test(countText) ? CountSchema.safeParse(countText) : null;
  if (!count?.success) throw new InvalidArgumentError(`${source}: ${JSON.stringify(pair)}: N must be a whole number 1..${MAX_WARM_PER_TEMPLATE}`);
  if (out.has(name)) throw new InvalidArgumentError(`${source}: template ${JSON.stringify(name)} is named twice`);
  out.set(name, count.data);
}

/**
 * The warm spec from `--warm` values (preferred when any) or `CORRAL_WARM`.
 * @throws InvalidArgumentError naming the bad value
 */
export function parseWarmSpec(flags: readonly string[] | undefined, env: string | undefined, templates: TemplateRegistry): WarmSpec {
  const out = new Map<string, number>();
  if (flags && flags.length > 0) {
    for (const pair of flags) parsePair("--warm", pair, templates, out);
    return out;
  }
  for (const pair of (env ?? "").split(",").map((p) => p.trim()).filter((p) => p !== "")) parsePair("CORRAL_WARM", pair, templates, out);
  return out;
}
