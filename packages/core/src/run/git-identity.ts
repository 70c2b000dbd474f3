import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { gitIdentity, userSection } from "../run-git-dir.js";

/** Who the agent's commits are by: the user's own identity (`"host"`), a fixed one, or none (`false`). */
export type GitIdentityOption = "host" | false | { name: string; email: string };

export interface GitIdentity {
  name: string;
  email: string;
}

/**
 * The identity the agent commits as. The sandbox HOME is private, so without this the agent's
 * `git commit` fails with "Author identity unknown". Only name and email cross over, never the
 * user's gitconfig (it can name programs, credentials, signing keys). `"host"` reads them as git
 * would on the host: GIT_AUTHOR_* / GIT_COMMITTER_* first, then `git config` in the project.
 */
export async function resolveGitIdentity(option: GitIdentityOption | undefined, cwd: string, hostEnv: Record<string, string | undefined>): Promise<GitIdentity | undefined> {
  if (option === false) return undefined;
  if (typeof option === "object") return { name: option.name, email: option.email };
  const name = hostEnv.GIT_AUTHOR_NAME || hostEnv.GIT_COMMITTER_NAME;
  const email = hostEnv.GIT_AUTHOR_EMAIL || hostEnv.GIT_COMMITTER_EMAIL;
  if (name && email) return { name, email };
  // git reads the user's global config from HOME / XDG_CONFIG_HOME: the host env's, as git would.
  const env: Record<string, string> = {};
  for (const key of ["HOME", "XDG_CONFIG_HOME"] as const) if (hostEnv[key]) env[key] = hostEnv[key]!;
  const configured = name && email ? undefined : await gitIdentity(cwd, env);
  const resolvedName = name || configured?.name;
  const resolvedEmail = email || configured?.email;
  if (!resolvedName || !resolvedEmail) return undefined;
  return { name: resolvedName, email: resolvedEmail };
}

/**
 * Gives the agent the identity as the global gitconfig of its private HOME: the lowest place git looks,
 * so whatever the agent sets itself (`git -c user.name=…`, its repository's config, GIT_AUTHOR_*) still wins.
 */
export async function writeGitIdentity(home: string, identity: GitIdentity | undefined): Promise<void> {
  if (!identity) return;
  await writeFile(join(home, ".gitconfig"), `${userSection(identity).join("\n")}\n`, { mode: 0o600, flag: "wx" });
}
