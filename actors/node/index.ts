/** The node actor: the single owner of the sandboxes on one machine. */
export { NodeActor, type NodeActorOptions } from "./node-actor.js";
export { runNodeCommand, capacityFrom, DEFAULT_CPU_OVERCOMMIT } from "./command.js";
export type { Amounts } from "./capacity.js";
