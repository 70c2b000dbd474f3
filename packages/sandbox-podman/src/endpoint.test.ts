import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { PodmanEngine, resolvePodmanEndpoint, type ConnectionLookup } from "./endpoint.js";

const home = mkdtempSync(join(tmpdir(), "corral-podman-endpoint-"));
afterAll(() => rmSync(home, { recursive: true, force: true }));
const key = join(home, "id_test");
writeFileSync(key, "key\n");
const none: ConnectionLookup = () => undefined;

describe("resolvePodmanEndpoint", () => {
  it("is podman's own local engine by default, and a unix socket is local", () => {
    expect(resolvePodmanEndpoint({}, {}, home, none)).toEqual({ display: "local", source: "default", locality: "local" });
    expect(resolvePodmanEndpoint({}, { CONTAINER_HOST: "unix:///run/podman/podman.sock" }, home, none)).toMatchObject({ locality: "local", url: "unix:///run/podman/podman.sock", source: "CONTAINER_HOST" });
  });

  it("reads ssh:// from CONTAINER_HOST with CONTAINER_SSHKEY as a remote engine carried by corral's ssh, with the socket's path there", () => {
    const endpoint = resolvePodmanEndpoint({}, { CONTAINER_HOST: "ssh://core@10.0.0.8:2222/run/user/1000/podman/podman.sock", CONTAINER_SSHKEY: key }, home, none);
    expect(endpoint).toMatchObject({ locality: "remote", display: "ssh://core@10.0.0.8:2222", ssh: { socket: "/run/user/1000/podman/podman.sock" } });
    expect(endpoint.url).toBeUndefined();
    // root's default socket when the path is left out; another user must name theirs.
    expect(resolvePodmanEndpoint({ host: "ssh://root@10.0.0.8", sshIdentity: key }, {}, home, none).ssh?.socket).toBe("/run/podman/podman.sock");
    expect(() => resolvePodmanEndpoint({ host: "ssh://core@10.0.0.8", sshIdentity: key }, {}, home, none)).toThrow(expect.objectContaining({ hint: expect.stringContaining("/run/user/UID/podman/podman.sock") }));
  });

  it("the plugin's options come before the environment; a system connection is looked up by name (with its identity)", () => {
    const lookup: ConnectionLookup = (name) => (name === "box" ? { uri: "ssh://root@10.0.0.9/run/podman/podman.sock", identity: key } : undefined);
    expect(resolvePodmanEndpoint({ connection: "box" }, { CONTAINER_HOST: "unix:///x.sock" }, home, lookup)).toMatchObject({ locality: "remote", source: "the plugin's connection option: connection box", display: "ssh://root@10.0.0.9" });
    expect(resolvePodmanEndpoint({}, { CONTAINER_CONNECTION: "box" }, home, lookup)).toMatchObject({ locality: "remote", display: "ssh://root@10.0.0.9" });
    expect(() => resolvePodmanEndpoint({ connection: "absent" }, {}, home, lookup)).toThrow(expect.objectContaining({ hint: expect.stringContaining("podman system connection list") }));
  });

  it("attack: refuses tcp to another machine (no TLS, no authentication) with the fix; twin: loopback tcp is this machine's", () => {
    expect(() => resolvePodmanEndpoint({}, { CONTAINER_HOST: "tcp://10.0.0.8:8888" }, home, none)).toThrow(expect.objectContaining({ code: "E_SANDBOX_ENGINE_TRUST", hint: expect.stringContaining("ssh://") }));
    expect(resolvePodmanEndpoint({}, { CONTAINER_HOST: "tcp://127.0.0.1:8888" }, home, none)).toMatchObject({ locality: "local", url: "tcp://127.0.0.1:8888" });
  });

  it("attack: an ssh endpoint without a key is refused rather than tried (typed)", () => {
    expect(() => resolvePodmanEndpoint({ host: "ssh://root@10.0.0.8" }, {}, home, none)).toThrow(expect.objectContaining({ code: "E_SANDBOX_ENGINE_TRUST" }));
  });
});

describe("PodmanEngine", () => {
  it("names the engine with --url, and keeps podman's own CONTAINER_* settings out of the CLI's env", async () => {
    const previous = process.env.CONTAINER_HOST;
    process.env.CONTAINER_HOST = "ssh://root@10.0.0.8/run/podman/podman.sock";
    try {
      const engine = new PodmanEngine("podman", resolvePodmanEndpoint({}, { CONTAINER_HOST: "unix:///run/podman/podman.sock" }, home, none));
      expect(await engine.argv(["ps"])).toEqual(["podman", "--url", "unix:///run/podman/podman.sock", "ps"]);
      expect(engine.env().CONTAINER_HOST).toBeUndefined();
      expect(await new PodmanEngine("podman", { display: "local", source: "default", locality: "local" }).argv(["ps"])).toEqual(["podman", "ps"]);
    } finally {
      if (previous === undefined) delete process.env.CONTAINER_HOST;
      else process.env.CONTAINER_HOST = previous;
    }
  });
});
