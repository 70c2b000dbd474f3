import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { describe, expect, it, type TestContext } from "vitest";
import type { Isolation } from "../isolation.js";
import type { Sandbox, SandboxHandle } from "../sandbox.js";

const ACTIONS = ["removed", "would-remove", "kept", "failed"];

/**
 * The optional capabilities a sandbox declares, held to what the contract promises (sandbox.ts).
 * Called inside the sandbox kit's describe, with its sandbox and whether it is available here.
 */
export function describeSandboxCapabilities(
  current: () => { sandbox: Sandbox; unavailable: string | undefined; create?: (ctx: TestContext) => Promise<SandboxHandle>; workspace?: string; hostSecret?: string },
): void {
  describe("declared capabilities", () => {
    it("attach: a declared attach is on the handle and runs like exec (cwd, the spec's env and nothing of the host's, the exit code), with the caller's stdio", async (ctx) => {
      const { sandbox, create, workspace, hostSecret } = current();
      // Not declared: corral never attaches (a handle may still have the method, refusing it here).
      if (!create || !workspace || !sandbox.capabilities?.attach) ctx.skip();
      const handle = await create!(ctx);
      expect(typeof handle.attach, "a sandbox that declares capabilities.attach has SandboxHandle.attach").toBe("function");
      const out = join(workspace!, "attach-out.txt");
      const script = `pwd > "$1"; echo "spec=$CONFORMANCE_SPEC_VAR host=$${hostSecret ?? "CORRAL_NO_SUCH_VAR"} exec=$ATTACH_VAR" >> "$1"; exit 3`;
      const result = await handle.attach!(["sh", "-c", script, "sh", out], { env: { ATTACH_VAR: "from-attach" }, tty: false });
      expect(result.exitCode).toBe(3);
      const [cwd, env] = (await readFile(out, "utf8")).trim().split("\n");
      expect(cwd).toBe(join(workspace!, "sub"));
      expect(env).toBe("spec=from-spec host= exec=from-attach");
      // After close it is refused, like exec.
      await handle.close();
      await expect(handle.attach!(["true"])).rejects.toMatchObject({ code: "E_SANDBOX_CLOSED" });
    });

    it("reap: with nothing of a run left it reports nothing for that run and does not throw; a dry run removes nothing", async (ctx) => {
      const { sandbox, unavailable } = current();
      if (!sandbox.reap || unavailable) ctx.skip();
      const runId = `conformance-reap-${process.pid}-${Date.now()}`;
      expect((await sandbox.reap!({ runId, dryRun: true })).reaped).toEqual([]);
      expect((await sandbox.reap!({ runId })).reaped).toEqual([]);
      // Every run's leftovers, as a dry run: whatever is found is reported, nothing is removed.
      for (const found of (await sandbox.reap!({ dryRun: true })).reaped) {
        expect(ACTIONS).toContain(found.action);
        expect(found.action).not.toBe("removed");
        expect(typeof found.kind === "string" && typeof found.name === "string" && typeof found.reason === "string").toBe(true);
      }
    });

    it("images: a sandbox that builds or removes images has both and names the image it runs", (ctx) => {
      const { sandbox } = current();
      if (!sandbox.buildImage && !sandbox.removeImage) ctx.skip();
      expect(typeof sandbox.buildImage).toBe("function");
      expect(typeof sandbox.removeImage).toBe("function");
      expect(typeof sandbox.image === "string" && sandbox.image.length > 0).toBe(true);
    });
  });
}

/**
 * The optional capabilities an isolation declares (isolation.ts): on a repository no run has used,
 * `reclaim` reports nothing (for every run, for one, dry or not) and `listWorkspaces` lists nothing.
 */
export function describeIsolationCapabilities(makeIsolation: () => Isolation | Promise<Isolation>, freshRepo: () => Promise<string>): void {
  describe("declared capabilities", () => {
    it("reclaim and listWorkspaces: a repository no run has used has nothing to reclaim or list, and nothing throws", async (ctx) => {
      const isolation = await makeIsolation();
      if (!isolation.reclaim && !isolation.listWorkspaces) ctx.skip();
      const repoRoot = await freshRepo();
      if (isolation.reclaim) {
        expect((await isolation.reclaim({ repoRoot, dryRun: true })).workspaces).toEqual([]);
        expect((await isolation.reclaim({ repoRoot })).workspaces).toEqual([]);
        expect((await isolation.reclaim({ repoRoot, runId: `kit-reclaim-${process.pid}`, force: true })).workspaces).toEqual([]);
      }
      if (isolation.listWorkspaces) expect(await isolation.listWorkspaces(repoRoot)).toEqual([]);
    });
  });
}
