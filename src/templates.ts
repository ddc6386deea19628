/**
 * Sandbox templates. `base` always exists; others are registered by
 * configuration (`CORRAL_TEMPLATES_FILE`, a JSON array of `Template`).
 */
import fs from "node:fs";
import { z } from "zod";
import { ConfigError } from "./config.js";
import { InvalidArgumentError } from "./errors.js";
import { TemplateNameSchema } from "./schema/record.js";

export const BASE_IMAGE = "corral/base:latest";

export const TemplateSchema = z.strictObject({
  name: TemplateNameSchema,
  /** Docker image (docker driver). */
  image: z.string().min(1),
  /** Port the main process serves; start resolves once it accepts TCP. */
  readyPort: z.number().int().min(1).max(65535),
  /** Bound on start-up readiness. @default 30000 */
  readyTimeoutMs: z.number().int().positive().default(30_000),
  /**
   * Process driver: argv of the main process. `{port}` is replaced by the
   * allocated host port, `{dir}` by the sandbox's private directory.
   */
  processCommand: z.array(z.string()).min(1).optional(),
});
export type Template = z.infer<typeof TemplateSchema>;

/** The `base` template: busybox httpd on 8080; GET /id answers CORRAL_SANDBOX_ID. */
export const BASE_TEMPLATE: Template = {
  name: "base",
  image: BASE_IMAGE,
  readyPort: 8080,
  readyTimeoutMs: 30_000,
  processCommand: ["busybox", "httpd", "-f", "-p", "127.0.0.1:{port}", "-h", "{dir}/www"],
};

export class TemplateRegistry {
  readonly #templates = new Map<string, Template>([["base", BASE_TEMPLATE]]);

  constructor(extra: Template[] = []) {
    for (const t of extra) this.#templates.set(t.name, t);
  }

  /** Reads `CORRAL_TEMPLATES_FILE` when set. */
  static fromEnv(env: NodeJS.ProcessEnv = process.env): TemplateRegistry {
    const file = env.CORRAL_TEMPLATES_FILE;
    if (!file) return new TemplateRegistry();
    let raw: unknown;
    try {
      raw = JSON.parse(fs.readFileSync(file, "utf8"));
    } catch (err) {
      throw new ConfigError(`CORRAL_TEMPLATES_FILE ${file}: ${(err as Error).message}`);
    }
    const parsed = z.array(TemplateSchema).safeParse(raw);
    if (!parsed.success) throw new ConfigError(`CORRAL_TEMPLATES_FILE ${file}: ${parsed.error.message}`);
    return new TemplateRegistry(parsed.data);
  }

  /** @throws InvalidArgumentError for an unknown template name. */
  get(name: string): Template {
    const t = this.#templates.get(name);
    if (!t) throw new InvalidArgumentError(`template ${JSON.stringify(name)} does not exist`);
    return t;
  }

  names(): string[] {
    return [...this.#templates.keys()];
  }
}
