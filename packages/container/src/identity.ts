/**
 * Who the agent is on the host, for `check()`'s detail (and so `corral doctor`): a container whose
 * uid 0 is the host's uid 0 is said plainly, with what would do better on this machine.
 */
export function agentIdentity(user: string, userns: string | undefined, better: string): string {
  if (userns && userns !== "host") return `the agent runs in a user namespace (${userns}): the container's root is not the host's`;
  const resolved = user === "host" ? currentUser() : user;
  if (resolved === "image") return "the agent runs as the image's USER, in no user namespace";
  if (resolved === undefined || /^(0|root)(:|$)/.test(resolved)) return `the agent runs as root on the host (uid 0, in no user namespace, without capabilities): ${better}`;
  return `the agent runs as uid ${resolved}, in no user namespace`;
}

function currentUser(): string | undefined {
  return typeof process.getuid === "function" && typeof process.getgid === "function" ? `${process.getuid()}:${process.getgid()}` : undefined;
}
