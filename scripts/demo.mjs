#!/usr/bin/env node
// `pnpm demo`: a real corral run on a scratch repository. The agent is the built-in `command` agent
// (a shell script that edits a file and commits), so no model credentials are needed; it runs in the
// bwrap sandbox on its own worktree and branch. Set CORRAL_DEMO_SANDBOX=host to run without bwrap.
import { execFileSync, spawnSync } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

const cli = fileURLToPath(new URL("../apps/cli/dist/bin.js", import.meta.url));
const repo = mkdtempSync(join(tmpdir(), "corral-demo-"));
const git = (...args) => execFileSync("git", args, { cwd: repo, stdio: ["ignore", "pipe", "inherit"] }).toString().trim();
git("init", "-q", "-b", "main");
git("config", "user.name", "corral demo");
git("config", "user.email", "demo@corral.invalid");
writeFileSync(join(repo, "TODO.md"), "- [ ] say hello\n");
git("add", "-A");
git("commit", "-qm", "initial");

const agent = [
  "sh", "-c",
  'echo "task: $0"; sed -i "s/- \\[ \\] say hello/- [x] say hello/" TODO.md; echo "hello from $(uname -n)" > HELLO.md; ' +
    'git add -A && git commit -qm "Say hello" && echo "<promise>COMPLETE</promise>"',
  "{prompt}",
];
const sandbox = process.env.CORRAL_DEMO_SANDBOX ?? "bwrap";
console.error(`corral demo: scratch repository ${repo}, sandbox ${sandbox}\n`);
const result = spawnSync(
  process.execPath,
  [cli, "run", "--sandbox", sandbox, "--name", "demo", "--max-iterations", "3", "--prompt", "Tick the TODO and say hello", "--", ...agent],
  { cwd: repo, stdio: "inherit" },
);
if (result.status === 0) {
  console.error(`\nThe branch corral/demo in ${repo}:\n${git("log", "--oneline", "main..corral/demo")}`);
}
process.exit(result.status ?? 1);
