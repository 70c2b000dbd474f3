import { rm } from "node:fs/promises";
import { bringBack } from "../copied-workspace.js";
import { CorralError, HookError, IntegrityError, toCorralError } from "../errors.js";
import type { RunEventBody, RunStatus } from "../events.js";
import type { Isolation, ReleaseFailure, ReleaseResult, Workspace } from "../isolation.js";
import type { Held } from "./scope.js";
import { copySessionTree } from "./session.js";

/**
 * Gives back what the run holds, each step on its own so one failure cannot skip the next: the
 * sandbox first, then the workspace (whose release brings the work back), then HOME. A step that
 * fails on a succeeded run fails the run (`problem`); after a failure it is only a warning. Either
 * way, what could not be given back (the sandbox, HOME) is `teardownIncomplete`: the journal records
 * that the run needs `corral clean`, whatever its status.
 */
export async function shutdown(
  held: Held,
  context: { isolation: Isolation; status: RunStatus; failure: CorralError | undefined; emit: (body: RunEventBody) => void; keepSession?: string | undefined; sessionFiles?: readonly string[] | undefined },
): Promise<{ release?: ReleaseResult; problem?: CorralError; teardownIncomplete?: string[] }> {
  const { isolation, status, failure, emit, keepSession, sessionFiles } = context;
  let problem: CorralError | undefined;
  const incomplete: string[] = [];
  const fail = (what: string, error: unknown) => {
    const e = toCorralError(error);
    if (status === "succeeded" || status === "incomplete") problem ??= e;
    else emit({ type: "log", level: "warn", message: `${what}: ${e.message}` });
  };
  if (held.handle && held.copy && held.workspace) {
    // A copied workspace's work is still inside the sandbox: out first, then the sandbox closes.
    try {
      const back = await bringBack(held.handle, held.copy.capability, held.workspace, { patchPath: held.copy.patchPath });
      for (const refused of back.refused) emit({ type: "log", level: "warn", message: `Copied workspace: not brought back: ${refused}` });
      if (back.patch) emit({ type: "log", level: "warn", message: `Uncommitted work (${back.patch.files} file(s)) is kept as a patch at ${back.patch.path}; it was not applied (git apply it to use it).` });
    } catch (error) {
      fail("Could not bring the work back from the copied workspace", error);
    }
  }
  if (held.handle) {
    await held.handle.close().catch((error: unknown) => {
      incomplete.push(toCorralError(error).message);
      fail("Could not close the sandbox", error);
    });
  }
  if (held.network) await held.network.close().catch((error: unknown) => fail("Could not stop the egress proxy", error));
  let release: ReleaseResult | undefined;
  if (held.workspace) {
    const workspace = held.workspace;
    try {
      // A failed hook leaves the workspace as it was, for inspection.
      const keep = failure instanceof HookError;
      release = await isolation.release(workspace, { outcome: status, ...(keep ? { keep } : {}) });
      emit({ type: "commits", commits: release.commits });
      emit({ type: "workspace.released", result: release, ...(workspace.branch ? { branch: workspace.branch } : {}) });
      // On a succeeded run the problems become its error; otherwise they are said here.
      if (status !== "succeeded" && status !== "incomplete") for (const text of [...(release.problems ?? []), ...(release.failures ?? []).map((f) => f.message)]) emit({ type: "log", level: "warn", message: text });
    } catch (error) {
      fail(`Could not release the workspace ${workspace.path}`, error);
    }
  }
  if (held.home && keepSession && sessionFiles?.length) {
    // The sandbox is closed: nothing writes the HOME any more. Its session files are copied as data.
    const copied = await copySessionTree(held.home, keepSession, sessionFiles).catch((error: unknown) => ({ files: 0, bytes: 0, skipped: toCorralError(error).message }));
    if (copied.skipped) emit({ type: "log", level: "warn", message: `The agent's session was not kept whole (${copied.skipped}): a resume may start a new session.` });
  }
  if (held.home) {
    const home = held.home;
    await rm(home, { recursive: true, force: true }).catch((error: unknown) => {
      incomplete.push(`Could not remove the run's HOME ${home}: ${toCorralError(error).message}`);
    });
  }
  return { ...(release ? { release } : {}), ...(problem ? { problem } : {}), ...(incomplete.length ? { teardownIncomplete: incomplete } : {}) };
}

/** Where the workspace lies after release, for `run.finished`: kept (and why, and how much is uncommitted) or removed. */
export function keptWorkspace(workspace: Workspace, release: ReleaseResult): NonNullable<Extract<RunEventBody, { type: "run.finished" }>["workspace"]> {
  return {
    path: release.path ?? workspace.path,
    kept: !release.removed,
    ...(release.keptReason ? { keptReason: release.keptReason } : {}),
    ...(release.uncommitted ? { uncommitted: release.uncommitted } : {}),
  };
}

export function integrityError(problems: string[]): IntegrityError {
  return new IntegrityError(`The run did something it must not, so it is not a success: ${problems.join(" ")}`, problems);
}

/** A succeeded run whose work did not all land (see `ReleaseResult.failures`) fails with the first failure's code, saying each. */
export function releaseFailure(failures: readonly ReleaseFailure[]): CorralError {
  const kept = failures.flatMap((f) => (f.ref ? [f.ref] : []));
  return new CorralError(failures[0]!.code, `The run's work did not all land, so it is not a success: ${failures.map((f) => f.message).join(" ")}`, {
    hint: kept.length ? `Nothing is lost: ${kept.join(", ")} keep${kept.length === 1 ? "s" : ""} the commits (git log ${kept[0]}).` : "Nothing is lost; read the message for where the work is.",
  });
}
