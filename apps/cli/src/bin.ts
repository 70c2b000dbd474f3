// Started by bin/corral.js (the published command), which keeps Node from reading corral's flags.
import { main } from "./main.js";

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    process.stderr.write(`corral: ${(error as Error)?.stack ?? String(error)}\n`);
    process.exitCode = 1;
  },
);
