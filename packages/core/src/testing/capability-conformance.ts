import { describe, expect, it } from "vitest";
import type { Isolation } from "../isolation.js";
import type { Sandbox } from "../sandbox.js";

const ACTIONS = ["removed", "would-remove", "kept", "failed"];

/**
 * The optional capabilities a sandbox declares, held to what the contract promises (sandbox.ts).
 * Called inside the sandbox kit's describe, with its sandbox and whether it is available here.
 */
export function describeSandboxCapabilities(current: () => { sandbox: Sandbox; unavailable: string | undefined }): void {
  describe("declared capabilities", () => {
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
