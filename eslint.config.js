// Lint: typescript-eslint's recommended rules plus the architecture rule of
// STYLE.md item 1: `machines/` holds pure state machines and imports no NATS,
// dockerode or node I/O (side effects are injected actors).
import tseslint from "typescript-eslint";

const IO_MODULES = ["@nats-io/*", "dockerode", "undici", "ws", "pino", "node:fs", "node:fs/*", "node:net", "node:http", "node:https", "node:child_process", "node:dgram", "fs", "net", "http", "https", "child_process"];

export default tseslint.config(
  { ignores: ["dist/**", "node_modules/**", "actors/ui/web/dist/**", "**/*.js", "**/*.mjs"] },
  ...tseslint.configs.recommended,
  {
    rules: {
      "@typescript-eslint/no-unused-vars": ["error", { argsIgnorePattern: "^_", varsIgnorePattern: "^_", destructuredArrayIgnorePattern: "^_" }],
      "@typescript-eslint/consistent-type-imports": "error",
    },
  },
  {
    files: ["machines/**/*.ts"],
    rules: {
      "no-restricted-imports": [
        "error",
        {
          patterns: [
            { group: IO_MODULES, message: "machines/ is pure: inject I/O as actors from actors/ (STYLE.md item 1)." },
            { group: ["**/actors/**"], message: "dependencies point src <- machines <- actors; machines/ must not import actors/." },
            { group: ["**/store/**", "**/drivers/**"], message: "machines/ must not import the store or drivers; inject them." },
          ],
        },
      ],
    },
  },
  {
    files: ["src/**/*.ts"],
    rules: {
      "no-restricted-imports": ["error", { patterns: [{ group: ["**/actors/**"], message: "src/ is the kernel: it must not import actors/." }] }],
    },
  },
);
