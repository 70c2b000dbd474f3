/** The `corral` command as a function, for tests and embedding: `await main(["run", …])` → exit code. */
export { main } from "./main.js";
export { EXIT } from "./io.js";
export type { CliIO } from "./io.js";
