import { mkdir, readFile, writeFile } from "node:fs/promises";
import { hostname } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { tempRepo } from "@corral/test-support";
import { execa } from "execa";
import { describe, expect, it } from "vitest";

const BIN = fileURLToPath(new URL("../dist/bin.js", import.meta.url));
const corral = (args: string[], cwd: string) => execa("node", [BIN, ...args], { cwd, reject: false, stdin: "ignore", env: { NO_COLOR: "1" } });

/**
 * A third party's sandbox plugin, installed in the project and named in its config: a plain object,
 * no @corral import, with the optional capabilities `reap`, `buildImage` and `removeImage`. Each
 * call is written to calls.jsonl, so the test sees exactly what corral asked of it.
 */
const PLUGIN = `
import { appendFileSync } from "node:fs";
const log = (call) => appendFileSync(process.env.FAKE_CALLS ?? new URL("./calls.jsonl", import.meta.url), JSON.stringify(call) + "\\n");
const plugin = {
  kind: "sandbox",
  apiVersion: 2,
  meta: { name: "vm", version: "1.0.0", packageName: "corral-sandbox-vm" },
  create: (options) => ({
    name: "vm",
    image: options.image ?? "vm-default:1",
    check: async () => ({ available: true }),
    create: async () => { throw new Error("not for running"); },
    reap: async (o) => { log({ reap: o }); return { reaped: [{ kind: "vm", id: "v1", name: "vm-" + o.runId, runId: o.runId, action: o.dryRun ? "would-remove" : "removed", reason: "its orchestrator is gone" }] }; },
    buildImage: async (o) => { log({ build: { tag: o.tag, contextDir: o.contextDir, buildArgs: o.buildArgs } }); o.onLine?.("vm: building " + o.tag); return { tag: o.tag }; },
    removeImage: async (tag) => { log({ remove: tag }); },
  }),
  configure(input) { return { kind: "sandbox", plugin, options: input ?? {} }; },
};
export default plugin;
`;

async function projectWithPlugin(): Promise<{ repo: string; calls: () => Promise<unknown[]> }> {
  const repo = await tempRepo();
  const dir = join(repo, "node_modules", "corral-sandbox-vm");
  await mkdir(dir, { recursive: true });
  await writeFile(join(dir, "package.json"), JSON.stringify({ name: "corral-sandbox-vm", version: "1.0.0", type: "module", exports: "./index.js" }));
  await writeFile(join(dir, "index.js"), PLUGIN);
  await writeFile(join(repo, "corral.config.json"), JSON.stringify({ plugins: ["corral-sandbox-vm"], sandbox: { name: "vm", options: { image: "vm-project:2" } } }));
  const calls = async () => (await readFile(join(dir, "calls.jsonl"), "utf8").catch(() => "")).split("\n").filter(Boolean).map((line) => JSON.parse(line) as unknown);
  return { repo, calls };
}

describe("a third party's sandbox takes part in corral image and corral clean through its capabilities", () => {
  it("image build and remove go to its buildImage/removeImage, with the config's image as the tag", async () => {
    const { repo, calls } = await projectWithPlugin();
    const built = await corral(["image", "build", "--build-arg", "A=1"], repo);
    expect(built.stderr).toContain("building vm-project:2 with vm…");
    expect(built.stderr).toContain("vm: building vm-project:2");
    expect(built.exitCode).toBe(0);
    expect(built.stdout.trim()).toBe("vm-project:2");
    const removed = await corral(["image", "remove", "--tag", "vm-other:3"], repo);
    expect(removed.exitCode).toBe(0);
    expect(await calls()).toEqual([{ build: { tag: "vm-project:2", contextDir: repo, buildArgs: { A: "1" } } }, { remove: "vm-other:3" }]);
  });

  it("a sandbox without buildImage is refused with a typed error that names the ones that can", async () => {
    const { repo } = await projectWithPlugin();
    const r = await corral(["image", "build", "--sandbox", "host"], repo);
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toContain('corral image build works with sandboxes that build images, not "host".');
    expect(r.stderr).toMatch(/hint: Pass --sandbox .*vm/);
  });

  it("corral clean asks the interrupted run's sandbox to reap what it left, and reports it", async () => {
    const { repo, calls } = await projectWithPlugin();
    const dead = execa("true"); // a pid whose process is gone: the run it "ran" is interrupted
    await dead;
    const id = "20240101-000000-abcdef";
    const dir = join(repo, ".corral", "runs", id);
    await mkdir(dir, { recursive: true });
    await writeFile(join(dir, "run.json"), JSON.stringify({ version: 1, id, name: "vmrun", state: "running", pid: dead.pid, host: hostname(), started: new Date().toISOString(), cwd: repo, isolation: "in-place", sandbox: { name: "vm" }, options: {} }));
    const dry = await corral(["clean", "--dry-run"], repo);
    expect(dry.stderr).toContain(`${id} (vmrun): would clean`);
    expect(dry.stderr).toContain(`would remove vm vm-${id} (its orchestrator is gone)`);
    const r = await corral(["clean"], repo);
    expect(r.stderr).toContain(`${id} (vmrun): cleaned`);
    expect(r.stderr).toContain(`remove vm vm-${id}`);
    expect(r.exitCode).toBe(0);
    // Each clean first asks every installed sandbox that can reap for what any run left (whatever the journal says), then the run's own.
    expect(await calls()).toEqual([{ reap: { dryRun: true } }, { reap: { runId: id, dryRun: true } }, { reap: { dryRun: true } }, { reap: { runId: id, dryRun: false } }]);
  });
});
