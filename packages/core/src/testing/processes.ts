import { readFile, readdir } from "node:fs/promises";

/**
 * PIDs of live (non-zombie) host processes whose command line contains `needle`, read from
 * /proc. Sandboxed processes of namespace- and container-based sandboxes show up here too, so
 * the kit can check that nothing an exec started is still alive.
 */
export async function hostProcessesMatching(needle: string): Promise<number[]> {
  const pids: number[] = [];
  for (const entry of await readdir("/proc").catch(() => [] as string[])) {
    if (!/^\d+$/.test(entry) || Number(entry) === process.pid) continue;
    try {
      const cmdline = (await readFile(`/proc/${entry}/cmdline`, "utf8")).split("\0").join(" ");
      if (!cmdline.includes(needle)) continue;
      const stat = await readFile(`/proc/${entry}/stat`, "utf8");
      // The state follows the command name in parentheses: "123 (sleep) S ...".
      const state = stat.slice(stat.lastIndexOf(")") + 2, stat.lastIndexOf(")") + 3);
      if (state !== "Z" && state !== "X") pids.push(Number(entry));
    } catch {
      // The process went away while we looked.
    }
  }
  return pids;
}

/** Polls `check` until it holds; throws with `what` after `timeoutMs`. */
export async function eventually(check: () => Promise<boolean> | boolean, what: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await check()) return;
    if (Date.now() > deadline) throw new Error(`Timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}
