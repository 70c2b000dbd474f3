import { chmod, mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";

/**
 * Vitest global setup: every test file of this invocation makes its temp folders (and the runs it
 * starts make theirs) inside one private folder, removed when the invocation ends. A test that forgets
 * to clean up can then never fill the machine's /tmp, and a test that lists a temp folder sees only its
 * own invocation's entries.
 */
export default async function setup(): Promise<() => Promise<void>> {
  const dir = await mkdtemp(join(tmpdir(), "corral-suite-"));
  // like /tmp itself: tests that drop to another uid must still reach their folders here
  await chmod(dir, 0o1777);
  process.env.TMPDIR = dir;
  return async () => {
    await rm(dir, { recursive: true, force: true, maxRetries: 3 });
  };
}
