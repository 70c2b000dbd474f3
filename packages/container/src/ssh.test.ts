import { createHmac, randomBytes } from "node:crypto";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { hostKeyVerifier, sshConnectConfig } from "./ssh.js";

const home = mkdtempSync(join(tmpdir(), "corral-ssh-"));
afterAll(() => rmSync(home, { recursive: true, force: true }));

describe("hostKeyVerifier", () => {
  const key = randomBytes(51);
  const other = randomBytes(51);
  it("accepts only the key known_hosts lists for that host (plain and hashed names)", () => {
    const salt = randomBytes(20);
    const hashed = `|1|${salt.toString("base64")}|${createHmac("sha1", salt).update("[10.0.0.9]:2222").digest("base64")}`;
    const file = join(home, "known_hosts");
    writeFileSync(file, `10.0.0.8 ssh-ed25519 ${key.toString("base64")}\n${hashed} ssh-ed25519 ${key.toString("base64")}\n`);
    expect(hostKeyVerifier(file, "10.0.0.8", 22)(key)).toBe(true);
    expect(hostKeyVerifier(file, "10.0.0.9", 2222)(key)).toBe(true);
    // attack: another key for a known host, or a known key for another host
    expect(hostKeyVerifier(file, "10.0.0.8", 22)(other)).toBe(false);
    expect(hostKeyVerifier(file, "10.0.0.7", 22)(key)).toBe(false);
    expect(hostKeyVerifier(join(home, "absent"), "10.0.0.8", 22)(key)).toBe(false);
  });
});

describe("sshConnectConfig", () => {
  it("takes the user (default root), port and key, and refuses to go on without a key (typed)", () => {
    const key = join(home, "id_test");
    writeFileSync(key, "not really a key\n");
    const { config, display } = sshConnectConfig("podman", new URL("ssh://core@10.0.0.8:2222/run/podman/podman.sock"), "CONTAINER_HOST", { sshIdentity: key }, {}, home);
    expect({ display, host: config.host, port: config.port, username: config.username, key: String(config.privateKey) }).toEqual({ display: "ssh://core@10.0.0.8:2222", host: "10.0.0.8", port: 2222, username: "core", key: "not really a key\n" });
    expect(sshConnectConfig("docker", new URL("ssh://10.0.0.8"), "DOCKER_HOST", {}, { SSH_AUTH_SOCK: "/run/agent.sock" }, home).config).toMatchObject({ username: "root", port: 22, agent: "/run/agent.sock" });
    expect(() => sshConnectConfig("podman", new URL("ssh://10.0.0.8"), "CONTAINER_HOST", {}, {}, home)).toThrow(expect.objectContaining({ code: "E_SANDBOX_ENGINE_TRUST" }));
  });
});
