import { describe, expect, it } from "vitest";
import { spawnStreaming } from "./process.js";

const env = { PATH: "/usr/bin:/bin" };
const lines = async (argv: string[], options: Parameters<typeof spawnStreaming>[1] = {}) => {
  const out: string[] = [];
  const result = await spawnStreaming(argv, { env, ...options, onLine: (line, stream) => out.push(`${stream}: ${line}`) });
  return { result, out };
};

describe("spawnStreaming", () => {
  it("streams stdout and stderr lines, with stdin from /dev/null unless given", async () => {
    const { result, out } = await lines(["sh", "-c", "cat; echo out; echo err >&2"]);
    expect(result.exitCode).toBe(0);
    expect(out.sort()).toEqual(["stderr: err", "stdout: out"]);
    expect((await lines(["cat"], { stdin: "given\n" })).out).toEqual(["stdout: given"]);
  });

  it("passes extra fds: the child reads each one's data on fd 3, 4, … to the end", async () => {
    const big = new Uint8Array(200_000).fill(66); // more than a pipe buffer holds
    const { result, out } = await lines(["sh", "-c", "cat <&3; echo; wc -c <&4; cat"], { extraFds: [new TextEncoder().encode("program"), big], stdin: "stdin too\n" });
    expect(result.exitCode).toBe(0);
    expect(out).toEqual(["stdout: program", "stdout: 200000", "stdout: stdin too"]);
  });

  it("a timeout still stops the whole group when extra fds are given", async () => {
    const { result } = await lines(["sh", "-c", "sleep 30 & wait"], { extraFds: [new Uint8Array([1])], timeoutMs: 200, killGraceMs: 200 });
    expect(result.timedOut).toBe(true);
    expect(result.exitCode).toBeNull();
  });
});
