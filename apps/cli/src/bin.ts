// Started by bin/corral.js (the published command), which keeps Node from reading corral's flags.
import { main } from "./main.js";

// A reader that goes away (`corral runs logs <id> | head`) is no error: what it did not read is not
// written, and the command still ends as it would (a run still releases its workspace and sandbox).
for (const stream of [process.stdout, process.stderr]) {
  stream.on("error", (error: NodeJS.ErrnoException) => {
    if (error.code !== "EPIPE") throw error;
    stream.write = () => true;
  });
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    process.stderr.write(`corral: ${(error as Error)?.stack ?? String(error)}\n`);
    process.exitCode = 1;
  },
);
