import type { Engine } from "./errors.js";
import { SandboxUnavailableError } from "@corral/core";
import { createHmac, randomBytes } from "node:crypto";
import { existsSync, readFileSync, rmSync } from "node:fs";
import { chmod, mkdtemp, rm } from "node:fs/promises";
import { connect, createServer, type Server, type Socket } from "node:net";
import { homedir, tmpdir } from "node:os";
import { join } from "node:path";
import { Client, type ClientChannel, type ConnectConfig } from "ssh2";

type Env = Record<string, string | undefined>;

/** The error for an endpoint corral will not talk to: unverifiable, unencrypted, or refusing corral's credentials. */
export function engineTrustError(engine: Engine, reason: string, hint: string, cause?: unknown): SandboxUnavailableError {
  return new SandboxUnavailableError(engine, reason, { hint, code: "E_SANDBOX_ENGINE_TRUST", ...(cause ? { cause } : {}) });
}

/** How corral reaches an engine's host over ssh: the plugin's `sshIdentity` and `sshKnownHosts` options. */
export interface SshOptions {
  /** The private key file (default: the ssh agent, then ~/.ssh/id_ed25519, id_ecdsa, id_rsa). */
  sshIdentity?: string | undefined;
  /** The known_hosts file the host's key must be in (default ~/.ssh/known_hosts). */
  sshKnownHosts?: string | undefined;
}

/**
 * ssh2's connection settings for `ssh://user@host[:port]` (user default root): the host key checked
 * against known_hosts (never trusted on first use), the key from `sshIdentity`, the ssh agent, or
 * ~/.ssh/id_*. Never the system `ssh`: it would read ~/.ssh/config (ProxyCommand, LocalCommand), code
 * corral did not choose to run. Throws `E_SANDBOX_ENGINE_TRUST` when corral has no key.
 */
export function sshConnectConfig(engine: Engine, url: URL, source: string, options: SshOptions, env: Env = process.env, home: string = homedir()): { config: ConnectConfig; display: string } {
  const hostname = url.hostname.replace(/^\[|\]$/g, "");
  const port = Number(url.port || 22);
  const knownHosts = options.sshKnownHosts ?? join(home, ".ssh", "known_hosts");
  const config: ConnectConfig = { host: hostname, port, hostVerifier: hostKeyVerifier(knownHosts, hostname, port), readyTimeout: 20_000 };
  const identity = options.sshIdentity ?? (env.SSH_AUTH_SOCK ? undefined : ["id_ed25519", "id_ecdsa", "id_rsa"].map((file) => join(home, ".ssh", file)).find((file) => existsSync(file)));
  if (identity) config.privateKey = readFileSync(identity);
  else if (env.SSH_AUTH_SOCK) config.agent = env.SSH_AUTH_SOCK;
  else throw engineTrustError(engine, `${source} names ${url.href}, but corral has no ssh key for it (no ssh agent, no ~/.ssh/id_*).`, "Start an ssh agent with the key (ssh-add), or pass the plugin's sshIdentity option.");
  const user = decodeURIComponent(url.username) || "root";
  config.username = user;
  return { config, display: `ssh://${user}@${hostname}${url.port ? `:${url.port}` : ""}` };
}

/**
 * ssh2's host check: the key the server shows must be one known_hosts lists for this host (plain
 * `host`/`[host]:port` names or hashed `|1|salt|hash` ones). Unknown hosts are refused: corral never
 * adds a key on first use, since nobody is there to compare the fingerprint.
 */
export function hostKeyVerifier(knownHostsFile: string, host: string, port: number): (key: Buffer) => boolean {
  const names = port === 22 ? [host] : [`[${host}]:${port}`];
  return (key: Buffer) => {
    let text: string;
    try {
      text = readFileSync(knownHostsFile, "utf8");
    } catch {
      return false;
    }
    const wanted = key.toString("base64");
    for (const line of text.split("\n")) {
      const fields = line.trim().split(/\s+/);
      if (fields.length < 3 || fields[0]!.startsWith("#") || fields[0]!.startsWith("@")) continue;
      const [patterns, , blob] = fields as [string, string, string];
      if (blob === wanted && patterns.split(",").some((pattern) => names.some((name) => matchesHost(pattern, name)))) return true;
    }
    return false;
  };
}

function matchesHost(pattern: string, name: string): boolean {
  if (pattern.startsWith("|1|")) {
    const [salt, hash] = pattern.slice(3).split("|");
    if (!salt || !hash) return false;
    return createHmac("sha1", Buffer.from(salt, "base64")).update(name).digest("base64") === hash;
  }
  return pattern === name;
}

/** What an ssh failure means (host key not known, key refused), for the error's reason and hint; undefined for other failures. */
export function sshTrustFailure(display: string, error: unknown): { reason: string; hint: string } | undefined {
  const message = String((error as Error)?.message ?? error);
  if (/host key|hostVerifier|Host denied/i.test(message)) {
    return { reason: `the ssh host key of ${display} is not in known_hosts (${message}).`, hint: "Check the host's fingerprint and add it (ssh-keyscan HOST >> ~/.ssh/known_hosts after comparing), or pass the plugin's sshKnownHosts option." };
  }
  if (/All configured authentication methods failed|authentication/i.test(message)) {
    return { reason: `${display} refused corral's ssh key (${message}).`, hint: "Add the key to the remote user's authorized_keys, or pass the plugin's sshIdentity option." };
  }
  return undefined;
}

/**
 * One ssh connection to an engine's host, shared by everything a sandbox does there, and opened
 * again after it drops. It holds this process open only while someone holds it (`hold()`), and for a
 * second after (the gap between one call's end and the next one's start must not let the process exit
 * mid-run); otherwise its socket is unref'd, as a unix socket's would be.
 */
export class SshConnection {
  readonly #config: ConnectConfig;
  #client: Promise<{ client: Client; socket: Socket }> | undefined;
  #holds = 0;
  /** The grace timer before the ssh socket is unref'd. */
  #idle: NodeJS.Timeout | undefined;
  /** The long-lived shell `ask` writes to, opened on first use and again after it closes. */
  #shell: Promise<HostShell> | undefined;
  /** `ask`'s queue: one question at a time. */
  #asking: Promise<unknown> = Promise.resolve();

  constructor(config: ConnectConfig) {
    this.#config = config;
  }

  /** Keeps this process alive until the returned function is called (once). */
  hold(): () => void {
    this.#holds++;
    this.#refs();
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.#holds--;
      this.#refs();
    };
  }

  /** The connected client (connecting, with the host key checked, when there is none). */
  async client(): Promise<Client> {
    return (await this.#connected()).client;
  }

  /** Runs `command` on the host (held meanwhile): its exit code and output. */
  async run(command: string, stdin?: string | Buffer): Promise<{ code: number | null; stdout: string; stderr: string }> {
    const release = this.hold();
    try {
      const client = await this.client();
      return await new Promise((resolve, reject) =>
        client.exec(command, (error, channel) => {
          if (error) return reject(error);
          const out: Buffer[] = [];
          const err: Buffer[] = [];
          let code: number | null = null;
          channel.on("data", (chunk: Buffer) => out.push(chunk));
          channel.stderr.on("data", (chunk: Buffer) => err.push(chunk));
          channel.once("exit", (exitCode: number | null) => (code = exitCode));
          channel.once("close", () => resolve({ code, stdout: Buffer.concat(out).toString(), stderr: Buffer.concat(err).toString() }));
          channel.end(stdin);
        }),
      );
    } finally {
      release();
    }
  }

  /**
   * Runs a one-line `command` in a shell kept open on the host beside the connection (no stdin, its
   * stderr dropped): its exit code and stdout. A question costs a round trip, where `run` costs the
   * host's sshd a new session (~90 ms each on the test host, ~1 ms this way). For quick reads.
   */
  ask(command: string): Promise<{ code: number | null; stdout: string }> {
    if (command.includes("\n")) return Promise.reject(new Error("ask takes one line"));
    const asked = this.#asking.then(async () => {
      const release = this.hold();
      try {
        this.#shell ??= this.client().then((client) => HostShell.open(client, () => (this.#shell = undefined)));
        const shell = await this.#shell.catch((error: unknown) => {
          this.#shell = undefined;
          throw error;
        });
        return await shell.ask(command);
      } finally {
        release();
      }
    });
    this.#asking = asked.catch(() => {});
    return asked;
  }

  /**
   * A private unix socket on this machine (0600, in a fresh 0700 folder) whose every connection is
   * carried over this ssh connection to `remotePath` on the host (`direct-streamlocal@openssh.com`):
   * how a CLI that cannot check a host key itself (podman 4.3's trusts on first use) reaches an engine
   * there. Its connections do not hold the process (the CLI using them does).
   */
  async forwardSocket(remotePath: string): Promise<{ path: string; close(): Promise<void> }> {
    const dir = await mkdtemp(join(tmpdir(), "corral-ssh-"));
    await chmod(dir, 0o700);
    const path = join(dir, "engine.sock");
    const server: Server = createServer({ allowHalfOpen: true }, (local) => {
      local.on("error", () => {});
      this.client().then(
        (client) =>
          client.openssh_forwardOutStreamLocal(remotePath, (error, channel) => {
            if (error) return local.destroy();
            channel.once("error", () => local.destroy());
            channel.once("close", () => local.destroy());
            local.once("close", () => channel.destroy());
            local.pipe(channel).pipe(local);
          }),
        () => local.destroy(),
      );
    });
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(path, () => resolve());
    });
    await chmod(path, 0o600);
    server.unref();
    // Not left behind when this process ends without closing it.
    const onExit = () => rmSync(dir, { recursive: true, force: true });
    process.once("exit", onExit);
    return {
      path,
      close: async () => {
        process.off("exit", onExit);
        await new Promise<void>((resolve) => server.close(() => resolve()));
        await rm(dir, { recursive: true, force: true });
      },
    };
  }

  /**
   * The egress relay of a container on this host (ADR 0410): the same two socat forwarders the local
   * bridge runs, started on the engine's host in the container's network namespace (`nsenter`, which
   * needs a root login there), connecting to a private unix socket that sshd forwards back over this
   * connection (`streamlocal-forward@openssh.com`) to corral's proxy socket. The proxy stays the
   * container's only way out, with the same allowlist. Resolves once both ports listen.
   */
  async relayEgress(pid: number, network: { socket: string; ports: { http: number; socks: number } }): Promise<{ stop(): void }> {
    if (!Number.isInteger(pid) || pid <= 0) throw new Error(`not a process id: ${pid}`);
    const ports = [network.ports.http, network.ports.socks];
    if (!ports.every((port) => Number.isInteger(port) && port > 0 && port < 65536)) throw new Error("bad proxy ports");
    const release = this.hold();
    try {
      const client = await this.client();
      const remoteSocket = `/run/corral-egress-${randomBytes(12).toString("hex")}.sock`;
      await new Promise<void>((resolve, reject) => client.openssh_forwardInStreamLocal(remoteSocket, (error) => (error ? reject(error) : resolve())));
      const onUnix = (info: { socketPath: string }, accept: () => ClientChannel) => {
        if (info.socketPath !== remoteSocket) return;
        const local = connect(network.socket);
        local.once("error", () => channel.destroy());
        const channel = accept();
        channel.once("error", () => local.destroy());
        channel.once("close", () => local.destroy());
        local.once("close", () => channel.destroy());
        channel.pipe(local).pipe(channel);
      };
      client.on("unix connection", onUnix as never);
      const forwarders: ClientChannel[] = [];
      const stop = () => {
        client.off("unix connection", onUnix as never);
        for (const channel of forwarders) channel.end(); // EOF on stdin: the remote shell kills its socat
        client.openssh_unforwardInStreamLocal(remoteSocket, () => {});
        client.exec(`rm -f ${remoteSocket}`, (error, channel) => {
          if (!error) channel.resume();
        });
      };
      try {
        for (const port of ports) {
          const command = `nsenter --target=${pid} --net -- socat TCP-LISTEN:${port},bind=127.0.0.1,fork,reuseaddr UNIX-CONNECT:${remoteSocket} & child=$!; read -r _; kill $child`;
          forwarders.push(await new Promise<ClientChannel>((resolve, reject) => client.exec(command, (error, channel) => (error ? reject(error) : resolve(channel)))));
        }
        // The container's TCP table on its host: both ports must be listening.
        const wanted = ports.map((port) => `:${port.toString(16).toUpperCase().padStart(4, "0")} 00000000:0000 0A`);
        for (let i = 0; i < 100; i++) {
          const table = (await this.run(`cat /proc/${pid}/net/tcp`)).stdout;
          if (wanted.every((line) => table.includes(line))) return { stop };
          await new Promise((resolve) => setTimeout(resolve, 50));
        }
        throw new Error("the forwarders on the engine's host did not start listening (root, nsenter and socat are needed there)");
      } catch (error) {
        stop();
        throw error;
      }
    } finally {
      release();
    }
  }

  /** Closes the connection (a later call opens a new one). */
  end(): void {
    void this.#client?.then(({ client }) => client.end(), () => {});
    this.#client = undefined;
  }

  #connected(): Promise<{ client: Client; socket: Socket }> {
    this.#client ??= new Promise((resolve, reject) => {
      // Ref'd while connecting; then only while someone holds it (#refs).
      const socket = connect({ host: this.#config.host!, port: this.#config.port ?? 22 });
      // Small request/answer exchanges (HTTP over a channel): Nagle's delay would add ~40 ms to each, as with OpenSSH's interactive sessions.
      socket.setNoDelay(true);
      const client = new Client();
      const fail = (error: Error) => {
        this.#client = undefined;
        reject(error);
      };
      client.once("ready", () => {
        client.off("error", fail);
        client.on("error", () => {
          this.#client = undefined;
        });
        resolve({ client, socket });
        queueMicrotask(() => this.#refs());
      });
      client.once("error", fail);
      client.once("close", () => {
        this.#client = undefined;
      });
      socket.once("error", fail);
      client.connect({ ...this.#config, sock: socket });
    });
    return this.#client;
  }

  #refs(): void {
    if (this.#holds > 0) {
      clearTimeout(this.#idle);
      this.#idle = undefined;
      void this.#client?.then(({ socket }) => socket.ref(), () => {});
      return;
    }
    this.#idle ??= setTimeout(() => {
      this.#idle = undefined;
      if (this.#holds === 0) void this.#client?.then(({ socket }) => socket.unref(), () => {});
    }, 1000);
  }
}

/** A `sh` on the host reading commands from an ssh channel; each answer ends with a line of a random marker and the exit code. */
class HostShell {
  readonly #channel: ClientChannel;
  readonly #marker = `corral-${randomBytes(12).toString("hex")}`;
  #output = "";
  #waiting: { resolve: (answer: { code: number | null; stdout: string }) => void; reject: (error: Error) => void } | undefined;
  #closed = false;

  private constructor(channel: ClientChannel, onClose: () => void) {
    this.#channel = channel;
    channel.stderr.resume();
    channel.on("data", (chunk: Buffer) => {
      this.#output += chunk.toString("utf8");
      this.#answer();
    });
    channel.once("close", () => {
      this.#closed = true;
      onClose();
      this.#waiting?.reject(new Error("the host's shell closed"));
      this.#waiting = undefined;
    });
  }

  static open(client: Client, onClose: () => void): Promise<HostShell> {
    return new Promise((resolve, reject) => client.exec("exec sh", (error, channel) => (error ? reject(error) : resolve(new HostShell(channel, onClose)))));
  }

  ask(command: string): Promise<{ code: number | null; stdout: string }> {
    if (this.#closed) return Promise.reject(new Error("the host's shell closed"));
    return new Promise((resolve, reject) => {
      this.#output = "";
      this.#waiting = { resolve, reject };
      // In a subshell, so an `exit` or a `cd` ends with it; the newline before the marker ends any last line of the command's own.
      this.#channel.write(`( ${command}\n) </dev/null 2>/dev/null; printf '\\n${this.#marker} %s\\n' "$?"\n`);
    });
  }

  #answer(): void {
    const end = this.#output.match(new RegExp(`\\n${this.#marker} (\\d+)\\n`));
    if (!end || !this.#waiting) return;
    const waiting = this.#waiting;
    this.#waiting = undefined;
    waiting.resolve({ code: Number(end[1]), stdout: this.#output.slice(0, end.index) });
    this.#output = "";
  }
}
