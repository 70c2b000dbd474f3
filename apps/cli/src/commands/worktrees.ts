import { resolve } from "node:path";
import { git, installCommand, UsageError } from "@corral/core";
import { importInstalled } from "corral/internal";
import { parseFlags } from "../args.js";
import { WORKTREES_HELP } from "../help.js";
import { EXIT, type CliIO } from "../io.js";
import { table } from "./runs.js";

type WorktreeGit = typeof import("@corral/worktree-git");

/** `corral worktrees list|remove|prune`: corral's git worktrees, over @corral/worktree-git's management API. */
export default async function worktrees(argv: string[], io: CliIO): Promise<number> {
  const { values, positionals } = parseFlags(
    "worktrees",
    argv,
    {
      json: { type: "boolean" },
      "dry-run": { type: "boolean" },
      force: { type: "boolean" },
      "delete-branch": { type: "boolean" },
      cwd: { type: "string" },
      help: { type: "boolean", short: "h" },
    },
    true,
  );
  if (values.help) {
    io.stdout.write(WORKTREES_HELP);
    return EXIT.ok;
  }
  const [action = "list", target, ...extra] = positionals;
  if (!["list", "remove", "prune"].includes(action)) throw new UsageError(`Unknown action "${action}" for corral worktrees.`, { hint: "Use list, remove <name> or prune." });
  if (extra.length || (action !== "remove" && target !== undefined)) throw new UsageError(`Unexpected argument "${extra[0] ?? target}".`, { hint: "See `corral worktrees --help`." });
  if (action === "remove" && target === undefined) throw new UsageError("corral worktrees remove needs a worktree (slug, run name, branch or path).", { hint: "`corral worktrees list` shows them." });
  const misplaced = (["dry-run", "force", "delete-branch"] as const).find((flag) => values[flag] && action !== (flag === "dry-run" ? "prune" : "remove"));
  if (misplaced) throw new UsageError(`--${misplaced} does not go with \`corral worktrees ${action}\`.`, { hint: "See `corral worktrees --help`." });

  const cwd = resolve(io.cwd, values.cwd ?? ".");
  const top = await git(["rev-parse", "--show-toplevel"], { cwd, allowFailure: true }).catch(() => undefined);
  if (top?.exitCode !== 0) throw new UsageError(`${cwd} is not inside a git repository.`, { hint: "Run it in the repository whose worktrees you want, or pass --cwd." });
  const wt = await importInstalled<WorktreeGit>("@corral/worktree-git", cwd);
  if (!wt) throw new UsageError("corral worktrees needs the package @corral/worktree-git, which is not installed.", { code: "E_PLUGIN_NOT_FOUND", hint: `Install it: ${installCommand("@corral/worktree-git")}` });

  if (action === "list") {
    const all = await wt.listWorktrees(cwd);
    if (values.json) io.stdout.write(`${JSON.stringify(all, null, 2)}\n`);
    else if (!all.length) io.stderr.write("No corral worktrees.\n");
    else io.stdout.write(table([["SLUG", "STATE", "BRANCH", "RUN", "PATH"], ...all.map((w) => [w.slug, w.state + (w.keptReason ? ` (${w.keptReason})` : ""), w.branch ?? "(detached)", w.runId ?? "", w.path])]));
    return EXIT.ok;
  }
  if (action === "remove") {
    const removed = await wt.removeWorktree(cwd, target!, { force: values.force === true, deleteBranch: values["delete-branch"] === true });
    if (values.json) io.stdout.write(`${JSON.stringify(removed, null, 2)}\n`);
    else io.stderr.write(`removed ${removed.path}${removed.branch ? `; branch ${removed.branch} ${removed.branchDeleted ? "deleted" : "kept"}` : ""}\n`);
    return EXIT.ok;
  }
  const result = await wt.pruneWorktrees(cwd, { dryRun: values["dry-run"] === true });
  if (!result.dryRun) await git(["worktree", "prune"], { cwd, allowFailure: true });
  if (values.json) {
    io.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
    return EXIT.ok;
  }
  const verb = result.dryRun ? "would remove" : "removed";
  for (const p of result.pruned) io.stderr.write(`${verb} ${p.path} (${p.reason})${p.branch ? `; branch ${p.branch} kept` : ""}\n`);
  for (const k of result.kept) io.stderr.write(`kept ${k.path}: ${k.reason}\n`);
  if (!result.pruned.length && !result.kept.length) io.stderr.write("Nothing to prune.\n");
  return EXIT.ok;
}
