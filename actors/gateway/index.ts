/** The E2B gateway (DESIGN.md, "E2B compatibility"). */
export { startGateway, type GatewayHandle, type GatewayOptions } from "./server.js";
export { runGatewayCommand, parseGatewayArgs, DEFAULT_GATEWAY_PORT } from "./command.js";
