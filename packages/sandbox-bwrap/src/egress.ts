import { SandboxUnavailableError, type ProxyNetwork, type SandboxCapabilities } from "@corral/core";
import { which } from "./which.js";

/**
 * The `proxy` network inside bwrap: each exec has a network namespace of its own (loopback only);
 * the egress proxy's unix socket is bound in at its host path, and a small wrapper starts two socat
 * forwarders on the exec's loopback (HTTP and SOCKS5 ports) before it runs the command. They die
 * with the exec's pid namespace. Nothing else leaves the namespace: no route, no DNS, and the host's
 * abstract unix sockets belong to another network namespace.
 */
const EGRESS = [
  'socat=$1 sock=$2 http=$3 socks=$4; shift 4',
  'for port in "$http" "$socks"; do "$socat" TCP-LISTEN:"$port",bind=127.0.0.1,fork,reuseaddr UNIX-CONNECT:"$sock" </dev/null >/dev/null 2>&1 & done',
  // Wait until both listen (state 0A in /proc/net/tcp), so the command never races them.
  'h=$(printf "%04X" "$http"); s=$(printf "%04X" "$socks"); i=0',
  'while [ $i -lt 400 ]; do grep -q ":$h 00000000:0000 0A" /proc/net/tcp && grep -q ":$s 00000000:0000 0A" /proc/net/tcp && break; i=$((i+1)); sleep 0.005; done',
].join("\n");

/**
 * File descriptors the orchestrator inherited without close-on-exec (from whatever started it: a
 * shell, a CI runner) would reach the agent through bwrap: a socket or a host file it could use.
 * Every exec closes all but stdin, stdout and stderr before the command runs. The loop runs in bash
 * where there is one: dash (Debian's sh) cannot name a descriptor above 9 in a redirection.
 */
const CLOSE_INHERITED = 'for f in /proc/self/fd/*; do n=${f##*/}; case $n in 0|1|2) ;; *) eval "exec $n>&-" 2>/dev/null ;; esac; done';

/** The bwrap arguments that bring the proxy's socket in (at the same path as on the host). */
export function egressArgs(network: ProxyNetwork): string[] {
  return ["--bind", network.socket, network.socket];
}

/**
 * The argv prefix every exec runs first, inside the sandbox: it closes inherited file descriptors,
 * starts the egress forwarders for a `proxy` network, then execs the command given after it.
 */
export function insideWrapper(egress?: { network: ProxyNetwork; socat: string }): string[] {
  const shell = which("bash", "/usr/bin:/bin") ?? "/bin/sh";
  if (!egress) return [shell, "-c", `${CLOSE_INHERITED}\nexec "$@"`, "corral-exec"];
  const { network, socat } = egress;
  return [shell, "-c", `${CLOSE_INHERITED}\n${EGRESS}\nexec "$@"`, "corral-exec", socat, network.socket, String(network.ports.http), String(network.ports.socks)];
}

const NO_SOCAT = {
  reason: "a network allowlist needs socat, to bring the egress proxy's ports into the sandbox, and it is not installed",
  hint: "Install it: apt-get install socat (Debian/Ubuntu), dnf install socat (Fedora)",
};

const hostSocat = () => which("socat", "/usr/local/bin:/usr/bin:/bin");

/** What bwrap enforces on this machine: the allowlist (and so the default network) needs socat. */
/** Where a copied workspace lives inside a bwrap sandbox: under its private /tmp. */
export const COPY_ROOT = "/tmp/corral";

export function bwrapCapabilities(): SandboxCapabilities {
  // A copied workspace lives in the sandbox's own /tmp (a private host folder of the run's, never the user's repository).
  const copiedWorkspace = { root: COPY_ROOT };
  return hostSocat() ? { filesystem: "isolated", network: ["host", "none", "proxy"], copiedWorkspace, workspaceLocality: "local" } : { filesystem: "isolated", network: ["host", "none"], proxyUnavailable: NO_SOCAT, copiedWorkspace, workspaceLocality: "local" };
}

/** socat on the host (bwrap shows the host's system folders, so the same path works inside), or the fix. */
export function findSocat(): string {
  const socat = hostSocat();
  if (!socat) throw new SandboxUnavailableError("bwrap", `${NO_SOCAT.reason}.`, { hint: `${NO_SOCAT.hint}; or pass --network host or none.` });
  return socat;
}
