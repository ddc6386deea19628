/** The visualizer's public surface: the server (`startUi`) and the `corral ui` command. */
export { startUi, type UiOptions, type UiServer } from "./server.js";
export { runUiCommand } from "./command.js";
export type { ChartLayout, History, Snapshot, StreamMessages, WireEvent, WireNode, WireRecord } from "./wire.js";
