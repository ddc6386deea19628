/**
 * A CorralClient whose every sandbox request is recorded (./recorder.ts), so
 * a test's own calls (typed methods included) are part of the history the
 * checker reads. `list` is sent but not recorded: it writes nothing, and on
 * nats-server 2.9.10 its scan can show an older value (see workload.ts).
 */
import type { NatsConnection } from "@nats-io/nats-core";
import { CorralClient, type CorralClientOptions } from "../../src/client/client.js";
import { API_OPS, type ApiOp, type ClusterOp } from "../../src/subjects.js";
import type { Recorder } from "./recorder.js";

export class RecordingClient extends CorralClient {
  readonly #recorder: Recorder;
  readonly #no: number;

  /** Records into `recorder` as client number `no`. */
  constructor(nc: NatsConnection, recorder: Recorder, no: number, options: CorralClientOptions = {}) {
    super(nc, options);
    this.#recorder = recorder;
    this.#no = no;
  }

  override request<T>(op: ApiOp | ClusterOp, body: unknown): Promise<T> {
    if (op === "list" || !(API_OPS as readonly string[]).includes(op)) return super.request<T>(op, body);
    return this.#recorder.record(this.#no, op as ApiOp, (body ?? {}) as Record<string, unknown>, (args) => super.request<T>(op, args));
  }
}
