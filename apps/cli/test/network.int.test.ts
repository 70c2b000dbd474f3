import { existsSync } from "node:fs";
import { createServer, type Server } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { hasCommand, requireTool, tempRepo } from "@corral/test-support";
import { execa } from "execa";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { agentEventsOf, type RunEvent } from "@corral/core";

const BIN = fileURLToPath(new URL("../dist/bin.js", import.meta.url));
const corral = (args: string[], cwd = tmpdir()) => execa("node", [BIN, ...args], { cwd, reject: false, stdin: "ignore", env: { NO_COLOR: "1" } });

/** The completion signal (docs/cli.md): without it a run that used up its iterations ends incomplete. */
const SIGNAL = "<promise>COMPLETE</promise>";
/** The command agent: curl each URL through whatever proxy the sandbox was given, print what came back, then say it is done. */
const curling = (...urls: string[]) => ["--", "sh", "-c", [...urls.map((url) => `curl -sS --max-time 10 -o /dev/null -w '%{http_code}\\n' ${url} || echo unreachable`), `echo '${SIGNAL}'`].join("; ")];

describe("corral run --network / --allow-domain", () => {
  let allowed: Server;
  let other: Server;
  const port = (server: Server) => (server.address() as { port: number }).port;
  beforeAll(async () => {
    [allowed, other] = [createServer((_q, r) => r.end("ok\n")), createServer((_q, r) => r.end("ok\n"))];
    for (const server of [allowed, other]) await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  });
  afterAll(async () => {
    for (const server of [allowed, other]) await new Promise((resolve) => server.close(resolve));
  });

  it("bad network flags exit 2 with the fix, before anything is made", async () => {
    const repo = await tempRepo();
    const cases: Array<[string[], RegExp]> = [
      [["--network", "open"], /--network must be none, host or allowlist, got "open"/],
      [["--network", "host", "--allow-domain", "example.com"], /--allow-domain and --deny-domain make an allowlist; they do not go with --network host/],
      [["--credentials", "vault"], /--credentials must be env or gateway/],
      [["--allow-domain", "exa mple.com"], /The network allow entry "exa mple.com"/],
    ];
    for (const [flags, message] of cases) {
      const r = await corral(["run", "--isolation", "in-place", "--prompt", "x", ...flags, "--", "true"], repo);
      expect(r.exitCode, r.stderr).toBe(2);
      expect(r.stderr).toMatch(message);
    }
    expect(existsSync(join(repo, ".corral"))).toBe(false);
  });

  it("in bwrap: an allowed host is reached, a denied one is shown with the flag that allows it, and runs show sums it up per host", async (ctx) => {
    if (!requireTool(await hasCommand("bwrap"), "bwrap is not installed (apt-get install bubblewrap)")) ctx.skip();
    const repo = await tempRepo();
    const [ok, denied] = [`127.0.0.1:${port(allowed)}`, `127.0.0.1:${port(other)}`];
    const r = await corral(["run", "--sandbox", "bwrap", "--isolation", "in-place", "--prompt", "x", "--name", "net", "--allow-domain", ok, "--json", ...curling(`http://${ok}/`, `http://${denied}/`)], repo);
    expect(r.exitCode, r.stderr).toBe(0);
    const events = r.stdout.trim().split("\n").map((line) => JSON.parse(line) as { type: string; runId: string; event?: { text?: string } });
    expect(events.flatMap((e) => agentEventsOf(e as unknown as RunEvent).flatMap((a) => (a.type === "text" ? [a.text] : [])))).toEqual(["200", "403", SIGNAL]);
    // The port is not allowed: the denial says which rule came close, and the rule that would allow it.
    expect(r.stderr).toContain(`denied ${denied} ("${ok}" allows port ${port(allowed)} only) — allow it with --allow-domain ${denied}`);
    expect(r.stderr).not.toContain(`denied ${ok}`);

    const show = await corral(["runs", "show", events[0]!.runId], repo);
    expect(show.exitCode, show.stderr).toBe(0);
    expect(show.stdout).toMatch(new RegExp(`network:\\n\\s+allowed\\s+${ok}\\s+1 connection\\(s\\)`));
    expect(show.stdout).toContain(`denied   ${denied}  1× ("${ok}" allows port ${port(allowed)} only) — allow it with --allow-domain ${denied}`);
  });

  it("in bwrap without a network flag, the agent has its API and nothing else; --network host is the opt-out", async (ctx) => {
    if (!requireTool(await hasCommand("bwrap"), "bwrap is not installed (apt-get install bubblewrap)")) ctx.skip();
    const repo = await tempRepo();
    const url = `http://127.0.0.1:${port(allowed)}/`;
    const byDefault = await corral(["run", "--sandbox", "bwrap", "--isolation", "in-place", "--prompt", "x", ...curling(url)], repo);
    expect(byDefault.exitCode, byDefault.stderr).toBe(0);
    const lines = (text: string) => text.split("\n");
    expect(lines(byDefault.stderr)).toContain("403");
    expect(lines(byDefault.stderr)).toContain(`denied 127.0.0.1:${port(allowed)} (no allow rule matches) — allow it with --allow-domain 127.0.0.1:${port(allowed)}`);
    // The twin: the host's network, asked for, reaches it directly.
    const opted = await corral(["run", "--sandbox", "bwrap", "--isolation", "in-place", "--prompt", "x", "--network", "host", ...curling(url)], repo);
    expect(opted.exitCode, opted.stderr).toBe(0);
    expect(lines(opted.stderr)).toContain("200");
    expect(opted.stderr).not.toContain("denied");
  });
});
