/** The proxy replica's public surface (what `corral proxy` and `corral up` use). */
export { startProxy, type ProxyHandle, type ProxyOptions } from "./proxy-server.js";
export type { RouteSource } from "./route-table.js";
export { runProxyCommand, parseProxyArgs, type ProxyCommandOptions } from "./command.js";
