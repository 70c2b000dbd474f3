import type { ContainerPlan } from "@corral/core/container";
import { describe, expect, it } from "vitest";
import { podman, podmanRunArgs, podmanSandbox } from "./index.js";

const plan: ContainerPlan = {
  name: "corral-r1",
  image: "img:1",
  command: ["sleep", "infinity"],
  init: true,
  user: "1000:1000",
  workdir: "/w",
  labels: { "corral.run": "r1" },
  mounts: [
    { source: "/w", target: "/w", readonly: false },
    { source: "/w/.git/config", target: "/w/.git/config", readonly: true },
  ],
  tmpfs: { "/tmp": "rw,nosuid,nodev" },
  readOnlyRoot: true,
  capDrop: ["ALL"],
  capAdd: [],
  noNewPrivileges: true,
  network: "none",
  memoryBytes: 1024,
  memorySwapBytes: 1024,
  pidsLimit: 10,
  env: { API_KEY: "secret" },
};

describe("podmanRunArgs", () => {
  it("rootful: the same uid mapping as docker, every hardening flag, no env on the command line", () => {
    const args = podmanRunArgs(plan, { rootless: false });
    const joined = args.join(" ");
    expect(args.slice(0, 6)).toEqual(["run", "--detach", "--rm", "--pull=never", "--name", "corral-r1"]);
    expect(joined).toContain("--user 1000:1000");
    expect(joined).not.toContain("--userns");
    for (const flag of ["--init", "--read-only", "--cap-drop ALL", "--security-opt no-new-privileges", "--tmpfs /tmp:rw,nosuid,nodev", "--network none", "--memory 1024b", "--memory-swap 1024b", "--pids-limit 10", "--label corral.run=r1"]) {
      expect(joined).toContain(flag);
    }
    expect(args).toContain("type=bind,source=/w/.git/config,target=/w/.git/config,ro=true");
    expect(args.slice(-4)).toEqual(["--entrypoint", "sleep", "img:1", "infinity"]); // the image's ENTRYPOINT never wraps it
    expect(joined).not.toContain("secret");
  });

  it("rootless: keep-id maps the host user; SELinux relabelling when asked", () => {
    const args = podmanRunArgs(plan, { rootless: true, selinuxLabel: "Z" });
    expect(args).toContain("--userns=keep-id");
    expect(args).toContain("type=bind,source=/w,target=/w,relabel=private");
  });

  it("refuses a path that --mount would misread", () => {
    expect(() => podmanRunArgs({ ...plan, mounts: [{ source: "/a,b", target: "/a,b", readonly: true }] }, { rootless: false })).toThrow(expect.objectContaining({ code: "E_USAGE" }));
  });
});

describe("the podman plugin", () => {
  it("is named podman and validates its options", () => {
    expect(podmanSandbox.meta).toMatchObject({ name: "podman", packageName: "@corral/sandbox-podman" });
    expect(podman({ selinuxLabel: "z" }).options).toMatchObject({ selinuxLabel: "z", podman: "podman", capDrop: ["ALL"] });
    expect(() => podman({ selinuxLabel: "q" } as never)).toThrow(expect.objectContaining({ code: "E_PLUGIN_OPTIONS" }));
  });
});
