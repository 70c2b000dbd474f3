import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { collect, describeSandboxConformance } from "@corral/core/testing";
import { expect, it } from "vitest";
import { createBwrapSandbox } from "./index.js";

describeSandboxConformance("bwrap", () => createBwrapSandbox(), {
  security: { writeOutside: true, networkNone: true, hostLoopback: true, egress: true, wallClock: true, limits: { pids: true, memory: true } },
});

describeSandboxConformance("bwrap (host-readonly)", () => createBwrapSandbox({ readPolicy: "host-readonly" }), {
  security: { writeOutside: true, networkNone: true, hostLoopback: true, egress: true, wallClock: true },
  additionalTests: ({ create }) => {
    // What the policy is for: the host is readable, except homes, runtime sockets and shared temp dirs.
    it("host-readonly: the host's /var/tmp is hidden, its /usr is readable", async (ctx) => {
      const handle = await create(ctx);
      const dir = await mkdtemp("/var/tmp/corral-hidden-");
      try {
        await writeFile(join(dir, "note"), "host-only\n");
        expect((await collect(handle, ["cat", join(dir, "note")])).stdout).toEqual([]);
        expect((await collect(handle, ["test", "-x", "/usr/bin/env"])).result.exitCode).toBe(0);
      } finally {
        await rm(dir, { recursive: true, force: true });
      }
    });
  },
});

describeSandboxConformance("bwrap (seccomp off)", () => createBwrapSandbox({ seccomp: false }), {
  additionalTests: ({ create }) => {
    // Attach drops --new-session; only the seccomp filter then keeps TIOCSTI out of the caller's terminal.
    it("attach is refused without the seccomp filter (E_ATTACH_UNSUPPORTED); exec still runs", async (ctx) => {
      const handle = await create(ctx);
      await expect(handle.attach!(["true"], { tty: false })).rejects.toMatchObject({ code: "E_ATTACH_UNSUPPORTED" });
      expect((await collect(handle, ["sh", "-c", "echo ok"])).stdout).toEqual(["ok"]);
    });
  },
});
