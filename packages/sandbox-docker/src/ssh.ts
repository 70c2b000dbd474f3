import { randomBytes } from "node:crypto";
import { Agent, type AgentOptions } from "node:http";
import { connect, type Socket } from "node:net";
import type { Duplex } from "node:stream";
import { Client, type ClientChannel, type ConnectConfig } from "ssh2";

/**
 * An HTTP agent that reaches a docker engine through ssh, as `docker -H ssh://…` does: one ssh
 * connection per agent, and per HTTP connection one channel running `docker system dial-stdio` on
 * the remote host (the engine's socket there). docker-modem's own ssh agent opens a new ssh
 * connection for every API call and hands out channels that lack a socket's methods (a control
 * timeout crashes it); this one reuses the connection, and holds this process open only while a
 * channel is in use that nobody unref'd (the keeper's lifeline is, as on a unix socket).
 */
export class SshDockerAgent extends Agent {
  readonly #config: ConnectConfig;
  #client: Promise<{ client: Client; socket: Socket }> | undefined;
  readonly #channels = new Set<ClientChannel>();
  readonly #unrefd = new WeakSet<ClientChannel>();
  /** Connections asked for and not yet open. */
  #pending = 0;
  /** The grace timer before the ssh socket is unref'd (#refs). */
  #idle: NodeJS.Timeout | undefined;

  constructor(config: ConnectConfig, options: AgentOptions = {}) {
    // Kept alive: a dial-stdio channel (a process on the remote host) per API call would cost ~2x; an idle one is unref'd by Node.
    super({ keepAlive: true, ...options });
    this.#config = config;
  }

  /**
   * The egress relay of a container on this engine (ADR 0410): the same two socat forwarders the local
   * bridge runs, started on the engine's host in the container's network namespace (`nsenter`, which
   * needs a root login there), connecting to a private unix socket that sshd forwards back over this
   * connection (`streamlocal-forward@openssh.com`) to corral's proxy socket. The proxy stays the
   * container's only way out, with the same allowlist. Resolves once both ports listen.
   */
  async relayEgress(pid: number, network: { socket: string; ports: { http: number; socks: number } }): Promise<{ stop(): void }> {
    if (!Number.isInteger(pid) || pid <= 0) throw new Error(`not a process id: ${pid}`);
    const ports = [network.ports.http, network.ports.socks];
    if (!ports.every((port) => Number.isInteger(port) && port > 0 && port < 65536)) throw new Error("bad proxy ports");
    const { client } = await this.#connected();
    const remoteSocket = `/run/corral-egress-${randomBytes(12).toString("hex")}.sock`;
    await new Promise<void>((resolve, reject) => client.openssh_forwardInStreamLocal(remoteSocket, (error) => (error ? reject(error) : resolve())));
    const onUnix = (info: { socketPath: string }, accept: () => ClientChannel, reject: () => void) => {
      if (info.socketPath !== remoteSocket) return;
      const local = connect(network.socket);
      local.once("error", () => channel.destroy());
      const channel = accept();
      channel.once("error", () => local.destroy());
      channel.once("close", () => local.destroy());
      local.once("close", () => channel.destroy());
      channel.pipe(local).pipe(channel);
      void reject;
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
        const table = await this.#output(client, `cat /proc/${pid}/net/tcp`);
        if (wanted.every((line) => table.includes(line))) return { stop };
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
      throw new Error("the forwarders on the engine's host did not start listening (root, nsenter and socat are needed there)");
    } catch (error) {
      stop();
      throw error;
    }
  }

  async #output(client: Client, command: string): Promise<string> {
    return new Promise((resolve, reject) =>
      client.exec(command, (error, channel) => {
        if (error) return reject(error);
        const chunks: Buffer[] = [];
        channel.on("data", (chunk: Buffer) => chunks.push(chunk));
        channel.stderr.resume();
        channel.once("close", () => resolve(Buffer.concat(chunks).toString()));
      }),
    );
  }

  /** Node's Agent asks for a connection: a dial-stdio channel on the (shared) ssh connection. */
  override createConnection(_options: unknown, callback: (error: Error | null, socket?: Duplex) => void): undefined {
    // Held open from the request until its channel is there (then the channel's own ref counts).
    this.#pending++;
    const settle = () => {
      this.#pending--;
      this.#refs();
    };
    this.#connected().then(
      ({ client }) =>
        client.exec("docker system dial-stdio", (error, channel) => {
          if (error) {
            settle();
            return callback(error);
          }
          const socket = this.#socketLike(channel);
          settle();
          callback(null, socket);
        }),
      (error: Error) => {
        settle();
        callback(error);
      },
    );
    return undefined;
  }

  override destroy(): void {
    super.destroy();
    void this.#client?.then(({ client }) => client.end(), () => {});
    this.#client = undefined;
  }

  #connected(): Promise<{ client: Client; socket: Socket }> {
    this.#client ??= new Promise((resolve, reject) => {
      // Ref'd while connecting; then only while a request or a channel nobody unref'd needs it (#refs).
      const socket = connect({ host: this.#config.host!, port: this.#config.port ?? 22 });
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

  /** What http and dockerode expect of a socket, on an ssh channel. */
  #socketLike(channel: ClientChannel): Duplex {
    const self = this;
    this.#channels.add(channel);
    this.#refs();
    channel.once("close", () => {
      this.#channels.delete(channel);
      this.#refs();
    });
    const socket = channel as unknown as Duplex & Record<string, unknown>;
    socket.setTimeout = (ms: number, onTimeout?: () => void) => {
      clearTimeout(socket.__timer as NodeJS.Timeout);
      if (ms > 0) {
        socket.__timer = setTimeout(() => (onTimeout ? onTimeout() : channel.emit("timeout")), ms).unref();
        channel.once("close", () => clearTimeout(socket.__timer as NodeJS.Timeout));
      }
      return socket;
    };
    socket.setNoDelay = () => socket;
    socket.setKeepAlive = () => socket;
    socket.ref = () => {
      self.#unrefd.delete(channel);
      self.#refs();
      return socket;
    };
    socket.unref = () => {
      self.#unrefd.add(channel);
      self.#refs();
      return socket;
    };
    return socket;
  }

  /**
   * The ssh socket keeps this process alive only while a request or a channel nobody unref'd needs it,
   * and for a second after (a ref'd timer): the gap between one API call's end and the next one's
   * start must not let the process exit mid-run.
   */
  #refs(): void {
    const wanted = this.#pending > 0 || [...this.#channels].some((channel) => !this.#unrefd.has(channel));
    if (wanted) {
      clearTimeout(this.#idle);
      this.#idle = undefined;
      void this.#client?.then(({ socket }) => socket.ref(), () => {});
      return;
    }
    this.#idle ??= setTimeout(() => {
      this.#idle = undefined;
      const still = this.#pending > 0 || [...this.#channels].some((channel) => !this.#unrefd.has(channel));
      if (!still) void this.#client?.then(({ socket }) => socket.unref(), () => {});
    }, 1000);
  }

}
