import { spawn, type ChildProcess } from "node:child_process";
import { accessSync, constants, readFileSync } from "node:fs";
import { SandboxUnavailableError, type ProxyNetwork, type SandboxCapabilities } from "@corral/core";

/**
 * The `proxy` network of a container: the container runs with no network of its own (`none`:
 * loopback only), and corral bridges the two proxy ports into it from the host — two socat
 * forwarders that live in the container's network namespace (entered with nsenter, so no binary has
 * to be in the image) and connect to the egress proxy's unix socket on the host. They die with
 * corral (`setpriv --pdeathsig`), and with the container.
 */
export class EgressBridge {
  readonly #children: ChildProcess[];

  private constructor(children: ChildProcess[]) {
    this.#children = children;
  }

  /** Why a container sandbox cannot have a `proxy` network here (and the fix), or undefined when it can. */
  static unavailable(): { reason: string; hint: string } | undefined {
    if (process.getuid?.() !== 0) {
      return { reason: "a network allowlist needs corral to enter the container's network namespace, which takes root", hint: "Run corral as root for an allowlist with this sandbox, or use the bwrap sandbox" };
    }
    const missing = ["socat", "nsenter", "setpriv"].filter((name) => !findTool(name));
    if (missing.length) return { reason: `a network allowlist needs socat, nsenter and setpriv on the host (missing: ${missing.join(", ")})`, hint: "Install them: apt-get install socat util-linux" };
    return undefined;
  }

  /** The network modes of a container sandbox on this machine: `proxy` only where the bridge can run. */
  static capabilities(): SandboxCapabilities {
    const unavailable = EgressBridge.unavailable();
    return unavailable ? { filesystem: "isolated", network: ["host", "none", "bridge"], proxyUnavailable: unavailable } : { filesystem: "isolated", network: ["host", "none", "bridge", "proxy"] };
  }

  /** The tools the bridge runs, or the reason it cannot run here (fail closed). */
  static requirements(engine: string): { socat: string; nsenter: string; setpriv: string } {
    const unavailable = EgressBridge.unavailable();
    if (unavailable) throw new SandboxUnavailableError(engine, `${unavailable.reason}.`, { hint: `${unavailable.hint}; or pass --network host or none.` });
    return { socat: findTool("socat")!, nsenter: findTool("nsenter")!, setpriv: findTool("setpriv")! };
  }

  /** Starts the forwarders in the network namespace of the container whose init is `pid`, and waits until they listen. */
  static async start(engine: string, pid: number, network: ProxyNetwork): Promise<EgressBridge> {
    const { socat, nsenter, setpriv } = EgressBridge.requirements(engine);
    const children = [network.ports.http, network.ports.socks].map((port) =>
      spawn(nsenter, [`--target=${pid}`, "--net", "--", setpriv, "--pdeathsig", "KILL", "--", socat, `TCP-LISTEN:${port},bind=127.0.0.1,fork,reuseaddr`, `UNIX-CONNECT:${network.socket}`], { stdio: "ignore" }),
    );
    const bridge = new EgressBridge(children);
    // The container's own TCP table, seen from the host: both ports must be listening.
    const wanted = [network.ports.http, network.ports.socks].map((port) => `:${port.toString(16).toUpperCase().padStart(4, "0")} 00000000:0000 0A`);
    for (let i = 0; i < 400; i++) {
      if (children.some((child) => child.exitCode !== null)) break;
      const table = readTcp(pid);
      if (wanted.every((line) => table.includes(line))) return bridge;
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    bridge.stop();
    throw new SandboxUnavailableError(engine, "the egress proxy could not be brought into the container's network (the forwarders did not start).", {
      hint: "Check that nsenter works here (root, and no seccomp profile blocking setns for corral itself).",
    });
  }

  /** Kills the forwarders (SIGKILL). The plugin calls it in its handle's teardown, after the container is removed. */
  stop(): void {
    for (const child of this.#children) child.kill("SIGKILL");
  }
}

function findTool(name: string): string | undefined {
  return ["/usr/bin", "/bin", "/usr/sbin", "/sbin", "/usr/local/bin"].map((dir) => `${dir}/${name}`).find(executable);
}

function executable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

function readTcp(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/net/tcp`, "utf8");
  } catch {
    return "";
  }
}
