import { SandboxUnavailableError } from "@corral/core";
import { withoutUserNamespaces } from "@corral/container";
import { createHash } from "node:crypto";
import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import type { PodmanFacts } from "./cli.js";
import type { PodmanEngine } from "./endpoint.js";

/**
 * podman's own seccomp profile, less what creates user namespaces (core's seccomp.ts: podman's
 * default allows `unshare -U` in the container), as the JSON `--security-opt seccomp=` takes.
 * Without a profile to start from, the run stops (fail closed). A remote engine reads the profile
 * file on its own host, so there it is read over corral's ssh connection.
 */
export async function seccompProfile(facts: Pick<PodmanFacts, "seccompProfile">, engine?: Pick<PodmanEngine, "endpoint">): Promise<string> {
  if (!facts.seccompProfile) {
    throw new SandboxUnavailableError("podman", "podman runs without a seccomp profile here, so an agent could create user namespaces", {
      hint: "Enable seccomp (seccomp_profile in containers.conf, or the containers-common package's seccomp.json).",
    });
  }
  const ssh = engine?.endpoint.ssh?.connection;
  const where = ssh ? ` on ${engine!.endpoint.display}` : "";
  let profile: unknown;
  try {
    const text = ssh ? await remoteRead(ssh, facts.seccompProfile) : await readFile(facts.seccompProfile, "utf8");
    profile = JSON.parse(text);
  } catch (error) {
    throw new SandboxUnavailableError("podman", `cannot read podman's seccomp profile ${facts.seccompProfile}${where}: ${(error as Error).message}`, {
      hint: "Reinstall containers-common, or point seccomp_profile in containers.conf at a readable profile.",
      cause: error,
    });
  }
  return JSON.stringify(withoutUserNamespaces(profile as Parameters<typeof withoutUserNamespaces>[0]));
}

/**
 * The profile as a file podman can read while it creates one container: in the run's own folder
 * here, or, for a remote engine, in a private folder of that host's (`mktemp -d`, 0700) that
 * `remove` deletes once the container exists (podman copies the profile into the container's
 * spec when it creates it, so nothing is left on the engine's host after a run).
 */
export async function placeSeccompProfile(json: string, runDir: string, engine: Pick<PodmanEngine, "endpoint">): Promise<{ path: string; remove(): Promise<void> }> {
  const ssh = engine.endpoint.ssh?.connection;
  if (!ssh) {
    const path = join(runDir, "seccomp.json");
    await writeFile(path, json, { mode: 0o600 });
    return { path, remove: async () => {} }; // goes with the run's folder
  }
  const name = `${createHash("sha256").update(json).digest("hex").slice(0, 16)}.json`;
  // Through the connection's long-lived shell (a round trip, not an sshd session): the JSON is one line, single-quoted.
  const written = await ssh.ask(`umask 077 && dir=$(mktemp -d /tmp/corral-seccomp-XXXXXXXX) && printf %s '${json.replace(/'/g, `'\\''`)}' > "$dir/${name}" && echo "$dir"`);
  const dir = written.stdout.trim();
  if (written.code !== 0 || !/^\/tmp\/corral-seccomp-[A-Za-z0-9]+$/.test(dir)) {
    throw new SandboxUnavailableError("podman", `cannot write corral's seccomp profile on ${engine.endpoint.display} (exit ${written.code})`, { hint: "The ssh login needs a writable /tmp on the engine's host." });
  }
  // `dir` matched the pattern above: no quoting can be broken by it.
  return { path: `${dir}/${name}`, remove: async () => void (await ssh.ask(`rm -rf -- '${dir}'`).catch(() => {})) };
}

/** A file on the engine's host, by its absolute path (quoted for the remote shell). */
async function remoteRead(ssh: NonNullable<PodmanEngine["endpoint"]["ssh"]>["connection"], path: string): Promise<string> {
  if (!path.startsWith("/")) throw new Error("not an absolute path");
  const read = await ssh.run(`cat -- '${path.replace(/'/g, `'\\''`)}'`);
  if (read.code !== 0) throw new Error(read.stderr.trim().slice(0, 300) || `exit ${read.code}`);
  return read.stdout;
}
