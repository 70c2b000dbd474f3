import { SshConnection } from "@corral/container";
import { Agent, type AgentOptions } from "node:http";
import type { Duplex } from "node:stream";
import type { ClientChannel, ConnectConfig } from "ssh2";

/**
 * An HTTP agent that reaches a docker engine through ssh, as `docker -H ssh://…` does: one ssh
 * connection per agent (@corral/container's SshConnection: host key checked, kept, relaying the
 * egress proxy), and per HTTP connection one channel running `docker system dial-stdio` on the remote
 * host (the engine's socket there). docker-modem's own ssh agent opens a new ssh connection for every
 * API call and hands out channels that lack a socket's methods (a control timeout crashes it); this one
 * reuses the connection, and holds this process open only while a channel is in use that nobody
 * unref'd (the keeper's lifeline is, as on a unix socket).
 */
export class SshDockerAgent extends Agent {
  /** The ssh connection to the engine's host (also what relays the egress proxy). */
  readonly connection: SshConnection;

  constructor(config: ConnectConfig, options: AgentOptions = {}) {
    // Kept alive: a dial-stdio channel (a process on the remote host) per API call would cost ~2x; an idle one is unref'd by Node.
    super({ keepAlive: true, ...options });
    this.connection = new SshConnection(config);
  }

  /** Node's Agent asks for a connection: a dial-stdio channel on the (shared) ssh connection. */
  override createConnection(_options: unknown, callback: (error: Error | null, socket?: Duplex) => void): undefined {
    // Held open from the request until its channel is there (then the channel's own ref counts).
    const settle = this.connection.hold();
    this.connection.client().then(
      (client) =>
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
    this.connection.end();
  }

  /** What http and dockerode expect of a socket, on an ssh channel; it holds the connection unless unref'd. */
  #socketLike(channel: ClientChannel): Duplex {
    const connection = this.connection;
    let release: (() => void) | undefined = connection.hold();
    let closed = false;
    channel.once("close", () => {
      closed = true;
      release?.();
      release = undefined;
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
      if (!release && !closed) release = connection.hold();
      return socket;
    };
    socket.unref = () => {
      release?.();
      release = undefined;
      return socket;
    };
    return socket;
  }
}
