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

  constructor(config: ConnectConfig, options: AgentOptions = {}) {
    super(options);
    this.#config = config;
  }

  /** Node's Agent asks for a connection: a dial-stdio channel on the (shared) ssh connection. */
  override createConnection(_options: unknown, callback: (error: Error | null, socket?: Duplex) => void): undefined {
    this.#connected().then(
      ({ client }) =>
        client.exec("docker system dial-stdio", (error, channel) => {
          if (error) return callback(error);
          callback(null, this.#socketLike(channel));
        }),
      (error: Error) => callback(error),
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
      const socket = connect({ host: this.#config.host!, port: this.#config.port ?? 22 });
      socket.unref();
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

  /** The ssh socket keeps this process alive only while a channel nobody unref'd is open. */
  #refs(): void {
    const wanted = [...this.#channels].some((channel) => !this.#unrefd.has(channel));
    void this.#client?.then(({ socket }) => (wanted ? socket.ref() : socket.unref()), () => {});
  }
}
