import { keeperCommand, type ContainerPlan } from "@corral/container";
import { describe, expect, it } from "vitest";
import { podman, podmanRunArgs, podmanSandbox } from "./index.js";
import { chooseUserns, idmapCapable } from "./userns.js";

const plan: ContainerPlan = {
  name: "corral-r1",
  image: "img:1",
  command: keeperCommand(),
  init: true,
  user: "1000:1000",
  keeperUser: "65534:65534",
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
  it("rootful: the keeper attached and out of the agent's reach, every hardening flag, no env on the command line", () => {
    const args = podmanRunArgs(plan, { userns: "host", runDir: "/run/x", seccomp: "/run/x/seccomp.json" });
    const joined = args.join(" ");
    expect(args.slice(0, 7)).toEqual(["run", "--rm", "--interactive", "--sig-proxy=false", "--pull=never", "--name", "corral-r1"]);
    expect(joined).toContain("--cidfile /run/x/cid --pidfile /run/x/pid");
    expect(joined).toContain("--user 65534:65534 --workdir /");
    expect(joined).not.toContain("--detach");
    expect(joined).not.toContain("--userns");
    for (const flag of ["--init", "--read-only", "--cap-drop ALL", "--security-opt no-new-privileges --security-opt seccomp=/run/x/seccomp.json", "--tmpfs /tmp:rw,nosuid,nodev", "--network none", "--memory 1024b", "--memory-swap 1024b", "--pids-limit 10", "--label corral.run=r1"]) {
      expect(joined).toContain(flag);
    }
    expect(args).toContain("type=bind,source=/w/.git/config,target=/w/.git/config,ro=true");
    expect(args.slice(-6)).toEqual(["--entrypoint", "/bin/sh", "img:1", ...plan.command.slice(1)]); // the image's ENTRYPOINT never wraps it
    expect(joined).not.toContain("secret");
  });

  it("remote: no pidfile (the engine would write it on its own host); the cidfile is the client's", () => {
    const joined = podmanRunArgs(plan, { userns: "host", runDir: "/run/x", seccomp: "/tmp/corral-seccomp-x/p.json", remote: true }).join(" ");
    expect(joined).toContain("--cidfile /run/x/cid");
    expect(joined).not.toContain("--pidfile");
    expect(joined).toContain("--security-opt seccomp=/tmp/corral-seccomp-x/p.json");
  });

  it("rootless: keep-id maps the host user; SELinux relabelling when asked", () => {
    const args = podmanRunArgs(plan, { userns: "keep-id", runDir: "/r", seccomp: "/r/s.json", selinuxLabel: "Z" });
    expect(args).toContain("--userns=keep-id");
    expect(args).toContain("type=bind,source=/w,target=/w,relabel=private");
  });

  it("auto: a private range of host uids, and every bind mount idmapped so the workspace keeps its owners", () => {
    const args = podmanRunArgs(plan, { userns: "auto", runDir: "/r", seccomp: "/r/s.json" });
    expect(args).toContain("--userns=auto:size=65536");
    expect(args).toContain("type=bind,source=/w/.git/config,target=/w/.git/config,ro=true,idmap");
  });

  it("refuses a path that --mount would misread", () => {
    expect(() => podmanRunArgs({ ...plan, mounts: [{ source: "/a,b", target: "/a,b", readonly: true }] }, { userns: "host", runDir: "/r", seccomp: "/r/s.json" })).toThrow(expect.objectContaining({ code: "E_USAGE" }));
  });
});

describe("the podman plugin", () => {
  it("is named podman and validates its options", () => {
    expect(podmanSandbox.meta).toMatchObject({ name: "podman", packageName: "@corral/sandbox-podman" });
    expect(podman({ selinuxLabel: "z" }).options).toMatchObject({ selinuxLabel: "z", podman: "podman", capDrop: ["ALL"] });
    expect(() => podman({ selinuxLabel: "q" } as never)).toThrow(expect.objectContaining({ code: "E_PLUGIN_OPTIONS" }));
  });
});

describe("chooseUserns", () => {
  const runc = (version: string) => ({ name: "runc", version: `runc version ${version}\ncommit: x\nspec: 1.0.2-dev` });
  const rootful = (runtime = runc("1.1.5+ds1")) => ({ rootless: false, runtime });
  const yes = () => true;
  const no = () => false;

  it("rootless: keep-id, or none when asked; auto is refused with the fix", () => {
    expect(chooseUserns(undefined, { rootless: true, runtime: runc("1.1.5") })).toEqual({ userns: "keep-id" });
    expect(chooseUserns("host", { rootless: true, runtime: runc("1.1.5") })).toEqual({ userns: "host" });
    expect(() => chooseUserns("auto", { rootless: true, runtime: runc("1.2.0") })).toThrow(expect.objectContaining({ code: "E_SANDBOX_USERNS" }));
  });

  it("rootful: auto by default where podman has subordinate ids and the runtime idmapped mounts", () => {
    expect(chooseUserns(undefined, rootful(runc("1.2.1")), yes)).toEqual({ userns: "auto" });
    expect(chooseUserns(undefined, rootful({ name: "crun", version: "crun version 1.8" }), yes)).toEqual({ userns: "auto" });
  });

  it("rootful without them: none by default, saying why; asked for explicitly, an error with the fix", () => {
    expect(chooseUserns(undefined, rootful(), yes)).toEqual({ userns: "host", why: expect.stringContaining("runc version 1.1.5+ds1") });
    expect(chooseUserns(undefined, rootful(runc("1.2.0")), no)).toEqual({ userns: "host", why: expect.stringContaining("/etc/subuid") });
    expect(() => chooseUserns("auto", rootful(), yes)).toThrow(expect.objectContaining({ code: "E_SANDBOX_USERNS", hint: expect.stringContaining("crun") }));
    expect(() => chooseUserns("auto", rootful(runc("1.2.0")), no)).toThrow(expect.objectContaining({ code: "E_SANDBOX_USERNS", hint: expect.stringContaining("/etc/subuid") }));
    expect(() => chooseUserns("keep-id", rootful(), yes)).toThrow(expect.objectContaining({ code: "E_SANDBOX_USERNS" }));
    expect(chooseUserns("host", rootful(), yes)).toEqual({ userns: "host" });
  });

  it("knows which runtimes idmap mounts (runc 1.1 ignores the option without a word)", () => {
    expect(idmapCapable(runc("1.1.5+ds1"))).toBe(false);
    expect(idmapCapable(runc("1.2.0"))).toBe(true);
    expect(idmapCapable(runc("2.0.0"))).toBe(true);
    expect(idmapCapable({ name: "crun", version: "" })).toBe(true);
    expect(idmapCapable({ name: "youki", version: "youki version 0.3" })).toBe(false);
  });
});
