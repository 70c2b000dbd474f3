import { keeperCommand, type ContainerPlan } from "@corral/container";
import { describe, expect, it } from "vitest";
import { docker, dockerCreateOptions, dockerSandbox } from "./index.js";

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
  nanoCpus: 5e8,
  pidsLimit: 10,
  env: { API_KEY: "secret" },
};

describe("dockerCreateOptions", () => {
  it("maps the plan onto the engine's create request, without the env: the keeper as PID 1's child, on a stdin the engine closes when corral goes", () => {
    const body = dockerCreateOptions(plan);
    expect(body).toMatchObject({ name: "corral-r1", Image: "img:1", User: "65534:65534", WorkingDir: "/", Labels: { "corral.run": "r1" }, Env: [] });
    expect(body).toMatchObject({ Entrypoint: ["/bin/sh"], Cmd: plan.command.slice(1), OpenStdin: true, StdinOnce: true, AttachStdin: true });
    expect(body.HostConfig).toMatchObject({
      Init: true,
      AutoRemove: true,
      ReadonlyRootfs: true,
      CapDrop: ["ALL"],
      SecurityOpt: ["no-new-privileges:true"],
      NetworkMode: "none",
      Memory: 1024,
      MemorySwap: 1024,
      NanoCpus: 5e8,
      PidsLimit: 10,
      Tmpfs: { "/tmp": "rw,nosuid,nodev" },
    });
    expect(body.HostConfig?.Mounts).toEqual([
      { Type: "bind", Source: "/w", Target: "/w", ReadOnly: false },
      { Type: "bind", Source: "/w/.git/config", Target: "/w/.git/config", ReadOnly: true },
    ]);
    expect(JSON.stringify(body)).not.toContain("secret");
  });

  it("turning a hardening default off is explicit", () => {
    const body = dockerCreateOptions({ ...plan, noNewPrivileges: false, readOnlyRoot: false });
    expect(body.HostConfig).toMatchObject({ SecurityOpt: [], ReadonlyRootfs: false });
  });
});

describe("the docker plugin", () => {
  it("is named docker, and its options are validated by the registry", () => {
    expect(dockerSandbox.meta).toMatchObject({ name: "docker", packageName: "@corral/sandbox-docker" });
    expect(docker({ image: "x" }).options).toMatchObject({ image: "x", capDrop: ["ALL"], readOnlyRoot: true });
    expect(() => docker({ imag: "typo" } as never)).toThrow(expect.objectContaining({ code: "E_PLUGIN_OPTIONS" }));
  });
});
