/**
 * Compile-time only: fails `tsc` when a kernel type no longer fits the wire
 * type the browser was written against (wire.ts cannot import the kernel).
 */
import type { SandboxEvent } from "../../src/events.js";
import type { SandboxRecord, SandboxState } from "../../src/schema/record.js";
import type { NodeRecord } from "../../src/store/index.js";
import type { WireEvent, WireNode, WireRecord, WireState } from "./wire.js";

type Assignable<From, To> = [From] extends [To] ? true : never;

/** Each entry must be `true`; a `never` names the type that drifted. */
export type WireTypesFit = [
  Assignable<SandboxState, WireState>,
  Assignable<WireState, SandboxState>,
  Assignable<SandboxRecord, WireRecord>,
  Assignable<Omit<SandboxEvent, "record"> & { record: SandboxRecord }, WireEvent>,
  Assignable<Omit<NodeRecord, "revision">, WireNode>,
];
const fits: WireTypesFit = [true, true, true, true, true];
void fits;
