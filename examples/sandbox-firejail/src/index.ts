import { stat } from "node:fs/promises";
import { defineSandbox, packageVersion, SandboxError, SandboxUnavailableError, type Sandbox, type SandboxSpec } from "@corral/core";
import { assertSupported, firejailArgs } from "./args.js";
import { probeFirejail } from "./check.js";
import { FirejailSandboxHandle } from "./handle.js";
import { firejailOptions, type FirejailOptions, type FirejailOptionsInput } from "./options.js";

let nextId = 0;

/**
 * The `firejail` sandbox plugin: Linux namespaces, seccomp and a read-only view of the host,
 * through the setuid firejail binary. No image, no daemon. An example of a third-party plugin:
 * it uses only @corral/core's public API.
 */
export const firejailSandbox = defineSandbox({
  name: "firejail",
  version: packageVersion(import.meta.url),
  packageName: "corral-sandbox-firejail",
  description: "firejail: namespaces + seccomp, read-only host (Linux)",
  options: firejailOptions,
  create: (options: FirejailOptions): Sandbox => ({
    name: "firejail",
    check: () => probeFirejail(options).then(({ firejail: _path, ...availability }) => availability),
    create: (spec) => createSandbox(spec, options),
    // `corral clean` asks every run's sandbox what it left. A firejail sandbox is only processes,
    // which clean already stops by the run's CORRAL_RUN_ID, and it leaves nothing else behind
    // (no container, no network): so there is never anything to reap, and it says so.
    reap: async () => ({ reaped: [] }),
  }),
});

/** `run({ sandbox: firejail({ seccomp: true }) })` */
export const firejail = (options?: FirejailOptionsInput) => firejailSandbox.configure(options);

async function createSandbox(spec: SandboxSpec, options: FirejailOptions): Promise<FirejailSandboxHandle> {
  // Fail closed even when the caller skipped check().
  const probe = await probeFirejail(options);
  if (!probe.available) throw new SandboxUnavailableError("firejail", probe.reason, probe.hint ? { hint: probe.hint } : {});
  for (const [what, path] of [["workspace", spec.workspace.path], ["working directory", spec.workspace.cwd], ["HOME", spec.home]] as const) {
    if (!(await stat(path).catch(() => undefined))?.isDirectory()) {
      throw new SandboxError(`The ${what} ${path} does not exist.`, { code: "E_SANDBOX_SPEC", hint: "The folder must exist before the sandbox is created." });
    }
  }
  assertSupported(spec);
  const id = `firejail-${spec.runId.replace(/[^A-Za-z0-9_.-]/g, "_").slice(0, 40)}-${process.pid}-${++nextId}`;
  return new FirejailSandboxHandle({ id, spec, firejail: probe.firejail!, args: firejailArgs(spec, options) });
}

export default firejailSandbox;
export { FirejailSandboxHandle } from "./handle.js";
export { firejailOptions, DEFAULT_DENY, type FirejailOptions, type FirejailOptionsInput } from "./options.js";
export { firejailArgs, commandArgv } from "./args.js";
