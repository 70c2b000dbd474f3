import { createHash } from "node:crypto";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { resolveDockerEndpoint } from "./endpoint.js";

const home = mkdtempSync(join(tmpdir(), "corral-endpoint-"));
afterAll(() => rmSync(home, { recursive: true, force: true }));

function certs(dir: string, files = ["ca.pem", "cert.pem", "key.pem"]): string {
  mkdirSync(dir, { recursive: true });
  for (const file of files) writeFileSync(join(dir, file), `${file}\n`);
  return dir;
}

function context(name: string, host: string, tls: boolean, extra: Record<string, unknown> = {}): void {
  const id = createHash("sha256").update(name).digest("hex");
  mkdirSync(join(home, ".docker", "contexts", "meta", id), { recursive: true });
  writeFileSync(join(home, ".docker", "contexts", "meta", id, "meta.json"), JSON.stringify({ Name: name, Metadata: {}, Endpoints: { docker: { Host: host, SkipTLSVerify: false, ...extra } } }));
  if (tls) certs(join(home, ".docker", "contexts", "tls", id, "docker"));
}

describe("resolveDockerEndpoint", () => {
  it("uses the local socket by default, and a unix DOCKER_HOST as local", () => {
    expect(resolveDockerEndpoint({}, {}, home)).toMatchObject({ locality: "local", connection: { socketPath: "/var/run/docker.sock" } });
    expect(resolveDockerEndpoint({}, { DOCKER_HOST: "unix:///run/other.sock" }, home)).toMatchObject({ locality: "local", source: "DOCKER_HOST", connection: { socketPath: "/run/other.sock" } });
  });

  it("reads DOCKER_HOST with DOCKER_TLS_VERIFY and DOCKER_CERT_PATH as a remote TLS engine", () => {
    const dir = certs(join(home, "tls-env"));
    const endpoint = resolveDockerEndpoint({}, { DOCKER_HOST: "tcp://10.1.2.3:2376", DOCKER_TLS_VERIFY: "1", DOCKER_CERT_PATH: dir }, home);
    expect(endpoint).toMatchObject({ locality: "remote", display: "tcp://10.1.2.3:2376 (TLS)", connection: { protocol: "https", host: "10.1.2.3", port: 2376 } });
    expect(String(endpoint.connection.ca)).toBe("ca.pem\n");
  });

  it("attack: refuses a remote tcp engine without TLS (typed, with the fix)", () => {
    expect(() => resolveDockerEndpoint({}, { DOCKER_HOST: "tcp://10.1.2.3:2375" }, home)).toThrow(expect.objectContaining({ code: "E_SANDBOX_ENGINE_TRUST", hint: expect.stringContaining("DOCKER_TLS_VERIFY") }));
  });

  it("twin: a loopback tcp engine without TLS is this machine's", () => {
    expect(resolveDockerEndpoint({}, { DOCKER_HOST: "tcp://127.0.0.1:2375" }, home)).toMatchObject({ locality: "local", connection: { protocol: "http", port: 2375 } });
  });

  it("attack: TLS without the client certificate is refused before connecting", () => {
    const dir = certs(join(home, "tls-ca-only"), ["ca.pem"]);
    expect(() => resolveDockerEndpoint({ host: "tcp://10.1.2.3:2376", tlsVerify: true, certPath: dir }, {}, home)).toThrow(expect.objectContaining({ code: "E_SANDBOX_ENGINE_TRUST", message: expect.stringContaining("cert.pem") }));
  });

  it("the plugin's options override the environment", () => {
    const dir = certs(join(home, "tls-opt"));
    expect(resolveDockerEndpoint({ host: "tcp://10.9.9.9:2376", tlsVerify: true, certPath: dir }, { DOCKER_HOST: "unix:///x.sock" }, home)).toMatchObject({ source: "the plugin's host option", connection: { host: "10.9.9.9" } });
  });

  it("reads docker contexts: DOCKER_CONTEXT, then config.json's currentContext, with the context's TLS files", () => {
    context("far", "tcp://10.4.4.4:2376", true);
    context("shell", "ssh://deploy@build.example:2222", false);
    expect(resolveDockerEndpoint({}, { DOCKER_CONTEXT: "far" }, home)).toMatchObject({ locality: "remote", connection: { protocol: "https", host: "10.4.4.4" } });
    writeFileSync(join(home, ".docker", "config.json"), JSON.stringify({ currentContext: "shell" }));
    mkdirSync(join(home, ".ssh"), { recursive: true });
    writeFileSync(join(home, ".ssh", "id_ed25519"), "key");
    expect(resolveDockerEndpoint({}, {}, home)).toMatchObject({ locality: "remote", display: "ssh://deploy@build.example:2222", connection: { protocol: "http", port: 2222 } });
    expect(resolveDockerEndpoint({ context: "default" }, {}, home)).toMatchObject({ locality: "local" });
    expect(() => resolveDockerEndpoint({ context: "nope" }, {}, home)).toThrow(expect.objectContaining({ hint: expect.stringContaining("docker context ls") }));
    rmSync(join(home, ".docker", "config.json"));
  });

  it("attack: a context that skips TLS verification is refused", () => {
    context("lax", "tcp://10.4.4.5:2376", false, { SkipTLSVerify: true });
    expect(() => resolveDockerEndpoint({}, { DOCKER_CONTEXT: "lax" }, home)).toThrow(expect.objectContaining({ code: "E_SANDBOX_ENGINE_TRUST" }));
  });
});
