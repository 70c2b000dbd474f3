import { writeFile } from "node:fs/promises";
import { basename, join } from "node:path";
import { fileURLToPath } from "node:url";
import { CONTAINER_TEST_IMAGE, containerEngineReady, requireTool, tempRepo } from "@corral/test-support";
import { execa } from "execa";
import { describe, expect, it } from "vitest";

const BIN = fileURLToPath(new URL("../dist/bin.js", import.meta.url));
const NODE_PATH = fileURLToPath(new URL("../node_modules", import.meta.url));
const corral = (args: string[], cwd: string) => execa("node", [BIN, ...args], { cwd, reject: false, stdin: "ignore", env: { NO_COLOR: "1", NODE_PATH, PATH: process.env.PATH ?? "" } });

describe.each(["docker", "podman"] as const)("corral image with %s", (engine) => {
  it("builds with the host uid/gid and --build-arg, streams the output, then removes the image", async (ctx) => {
    const ready = await containerEngineReady(engine);
    if (!requireTool(ready.ready, ready.reason)) ctx.skip();
    const repo = await tempRepo({
      Dockerfile: `FROM ${CONTAINER_TEST_IMAGE}\nARG AGENT_UID\nARG AGENT_GID\nARG FLAVOUR\nRUN echo "built-as uid=$AGENT_UID gid=$AGENT_GID flavour=$FLAVOUR"\n`,
    });
    const tag = `corral-${basename(repo).toLowerCase()}:latest`;
    await writeFile(join(repo, "corral.config.json"), JSON.stringify({ sandbox: { name: engine, options: { image: tag } } }));
    const built = await corral(["image", "build", "--build-arg", "FLAVOUR=mint"], repo);
    expect(built.stderr).toContain(`built-as uid=${process.getuid!()} gid=${process.getgid!()} flavour=mint`);
    expect(built.exitCode).toBe(0);
    expect(built.stdout.trim()).toBe(tag); // the engine and the tag come from the config, as a run reads them
    expect((await execa(engine, ["image", "inspect", tag], { reject: false })).exitCode).toBe(0);

    const removed = await corral(["image", "remove", "--sandbox", engine], repo);
    expect(removed.exitCode).toBe(0);
    expect((await execa(engine, ["image", "inspect", tag], { reject: false })).exitCode).not.toBe(0);
  });

  it("without a tag in the flags or the config it builds the image a run looks for: corral-agent:latest", async (ctx) => {
    const ready = await containerEngineReady(engine);
    if (!requireTool(ready.ready, ready.reason)) ctx.skip();
    const repo = await tempRepo();
    await writeFile(join(repo, "Broken.Dockerfile"), `FROM ${CONTAINER_TEST_IMAGE}\nRUN exit 3\n`); // fails: no image is made (nor overwritten)
    const r = await corral(["image", "build", "--sandbox", engine, "--file", "Broken.Dockerfile"], repo);
    expect(r.stderr).toContain(`building corral-agent:latest with ${engine}`);
    expect(r.exitCode).toBe(1);
  });

  it("a failed build exits 1 and names the step", async (ctx) => {
    const ready = await containerEngineReady(engine);
    if (!requireTool(ready.ready, ready.reason)) ctx.skip();
    const repo = await tempRepo();
    await writeFile(join(repo, "Broken.Dockerfile"), `FROM ${CONTAINER_TEST_IMAGE}\nRUN echo about-to-fail && exit 3\n`);
    const r = await corral(["image", "build", "--sandbox", engine, "--file", "Broken.Dockerfile", "--tag", `corral-broken-${engine}:test`], repo);
    expect(r.exitCode).toBe(1);
    expect(r.stderr).toContain("about-to-fail");
    expect(r.stderr).toMatch(/Building the \w+ image corral-broken-\w+:test failed/);
    expect(r.stderr).toContain("hint:");
  });
});

describe("corral image: bad input", () => {
  it("exits 2 naming what is missing", async () => {
    const repo = await tempRepo();
    for (const [args, message] of [
      [["image"], /needs an action/],
      [["image", "build"], /No --sandbox was given/],
      [["image", "build", "--sandbox", "bwrap"], /not "bwrap"/],
      [["image", "remove", "--sandbox", "docker", "--file", "x"], /go with `corral image build`/],
      [["image", "build", "--sandbox", "docker", "--build-arg", "NOEQUALS"], /needs a name, "=" and a value/],
    ] as const) {
      const r = await corral([...args], repo);
      expect(r.stderr).toMatch(message);
      expect(r.exitCode).toBe(2);
    }
  });
});
