import { SandboxUnavailableError, type ProxyNetwork } from "@corral/core";
import { randomBytes } from "node:crypto";
import { connect, type Socket } from "node:net";
import type { Duplex } from "node:stream";
import type { DockerClients } from "./client.js";

/**
 * The egress proxy brought into a container on an engine reached over tcp+TLS, where the only way in
 * is the docker API (ADR 0410). The container keeps network `none`; inside it, one long-lived exec
 * runs two socat listeners on the proxy's loopback ports. Each accepted connection forks a child that
 * announces its pid on the exec's stderr and waits on a one-shot unix socket in a private folder;
 * for each announcement corral hands the pid to a second exec (started ahead of need) that connects to
 * that socket, and pipes its stream to corral's proxy socket here (the one the ssh relay forwards to:
 * same allowlist, same records). Everything runs as the keeper's user, never the agent's, so the agent
 * can neither write the announcements nor reach the private sockets. The image needs only sh and socat.
 */
export interface ExecRelay {
  /** Ends every relayed connection and ignores later announcements; removing the container ends the execs. */
  stop(): void;
}

/** Relayed connections at once; further announcements wait their turn (the proxy still filters each). */
const MAX_ACTIVE = 32;
/** Announcements waiting beyond that; past it they are dropped (their connection hangs until it is closed). */
const MAX_PENDING = 1024;
const ANNOUNCEMENT = /^corral-relay (\d{1,9})$/;
const READY = "corral-relay-ready";
/** Joiners kept started ahead of need. */
const SPARES = 2;
/** A joiner, run as `sh -c JOINER <dir>`: reads the child's pid (digits only) and connects to its socket (retrying while it is bound). */
const JOINER = 'read -r pid || exit 1; case "$pid" in ""|*[!0-9]*) exit 1;; esac; exec socat STDIO "UNIX-CONNECT:$0/$pid.sock,retry=2500,interval=0.002"';

/**
 * The listeners' script, run as `sh -c SCRIPT <dir> <http port> <socks port> <hex http> <hex socks>` ($0 is the dir).
 * Only builtins besides socat (no grep, cat or mkfifo needed); $C is the child's command, from the exec's env.
 */
const SCRIPT = [
  'command -v socat >/dev/null 2>&1 || { echo "corral-relay-error no-socat" >&2; exit 127; }',
  'umask 077; mkdir -m 700 "$0" || exit 96',
  `for p in "$1" "$2"; do socat "TCP-LISTEN:$p,bind=127.0.0.1,fork,reuseaddr" 'SYSTEM:eval "$C"' & done`,
  // Ready once both ports listen (state 0A) in the container's own TCP table.
  'i=0; while :; do n=0; while read -r _ l _ s _; do case "$l $s" in *":$3 0A"|*":$4 0A") n=$((n+1));; esac; done </proc/net/tcp',
  '[ "$n" -ge 2 ] && break; i=$((i+1)); [ "$i" -gt 1000 ] && exit 98; sleep 0.01 2>/dev/null; done',
  `echo ${READY} >&2; wait`,
].join("\n");

export async function startExecRelay(clients: DockerClients, containerId: string, user: string, network: ProxyNetwork): Promise<ExecRelay> {
  const ports = [network.ports.http, network.ports.socks];
  if (!ports.every((port) => Number.isInteger(port) && port > 0 && port < 65536)) throw new Error("bad proxy ports");
  const dir = `/tmp/.corral-relay-${randomBytes(12).toString("hex")}`;
  const hex = ports.map((port) => port.toString(16).toUpperCase().padStart(4, "0"));
  const container = clients.control.getContainer(containerId);
  const child = `echo "corral-relay $$" >&2; umask 077; exec socat STDIO "UNIX-LISTEN:${dir}/$$.sock"`;
  const exec = await container.exec({ Cmd: ["/bin/sh", "-c", SCRIPT, dir, ...ports.map(String), ...hex], Env: [`C=${child}`], User: user, AttachStdout: true, AttachStderr: true, Tty: false });
  const listener = (await clients.stream.getExec(exec.id).start({ hijack: false, stdin: false, Tty: false })) as Duplex;
  const open = new Set<{ destroy(): void }>();
  const pending: string[] = [];
  let active = 0;
  let stopped = false;
  const stop = () => {
    stopped = true;
    pending.length = 0;
    listener.destroy();
    for (const joiner of spares.splice(0)) void joiner.then((stream) => stream.destroy(), () => {});
    for (const connection of open) connection.destroy();
    open.clear();
  };

  const next = () => {
    while (!stopped && active < MAX_ACTIVE && pending.length) {
      active++;
      void relayOne(pending.shift()!).finally(() => {
        active--;
        next();
      });
    }
  };
  // Joiners: execs started ahead of need (an exec's create and start are two round trips, ~60 ms over
  // TLS), each waiting for one validated pid on its stdin before it connects to that child's socket.
  const spares: Promise<Duplex>[] = [];
  const startJoiner = async (): Promise<Duplex> => {
    const joiner = await container.exec({ Cmd: ["/bin/sh", "-c", JOINER, dir], User: user, AttachStdin: true, AttachStdout: true, AttachStderr: false, Tty: false });
    const stream = (await clients.stream.getExec(joiner.id).start({ hijack: true, stdin: true, Tty: false })) as Duplex;
    stream.on("error", () => {});
    if (stopped) stream.destroy();
    return stream;
  };
  const spare = () => {
    const joiner = startJoiner();
    joiner.catch(() => {});
    return joiner;
  };
  const takeJoiner = (): Promise<Duplex> => {
    const joiner = spares.shift() ?? spare();
    while (!stopped && spares.length < SPARES) spares.push(spare());
    return joiner;
  };
  // One connection: a joiner given the child's pid, its stream piped to the proxy socket here.
  const relayOne = async (pid: string): Promise<void> => {
    let stream: Duplex | undefined;
    let proxy: Socket | undefined;
    try {
      // A spare may have died while it waited (its connection cut): take another.
      for (let i = 0; i < 3 && (!stream || stream.destroyed) && !stopped; i++) stream = await takeJoiner().catch(() => undefined);
      if (!stream || stopped || stream.destroyed) return void stream?.destroy();
      stream.write(`${pid}\n`);
      proxy = connect(network.socket);
      const s = stream;
      const p = proxy;
      const pair = {
        destroy: () => {
          s.destroy();
          p.destroy();
        },
      };
      open.add(pair);
      if (stopped) {
        pair.destroy();
        return;
      }
      await new Promise<void>((resolve) => {
        const done = () => {
          pair.destroy();
          open.delete(pair);
          resolve();
        };
        demux(s, p);
        p.on("data", (chunk: Buffer) => {
          if (!s.write(chunk)) {
            p.pause();
            s.once("drain", () => p.resume());
          }
        });
        // The proxy closed its side: end the exec's stdin (the child sees EOF); the exec's end ends the rest.
        p.once("end", () => (s as Duplex & { end(): void }).end());
        p.once("error", done);
        p.once("close", () => s.writableEnded || done());
        s.once("end", () => p.end());
        s.once("close", done);
        s.once("error", done);
      });
    } catch {
      stream?.destroy();
      proxy?.destroy();
    }
  };

  // The listeners' stderr: hostile data once the agent runs. Only exact announcements count; nothing is printed.
  const ready = new Promise<void>((resolve, reject) => {
    let buffer = "";
    let frame: Buffer = Buffer.alloc(0);
    let isReady = false;
    const onLine = (line: string) => {
      if (!isReady) {
        if (line === READY) {
          isReady = true;
          resolve();
        } else if (line === "corral-relay-error no-socat") reject(noSocat(clients));
        return;
      }
      const match = ANNOUNCEMENT.exec(line);
      if (!match || stopped || pending.length >= MAX_PENDING) return;
      pending.push(match[1]!);
      next();
    };
    listener.on("data", (chunk: Buffer) => {
      frame = Buffer.concat([frame, chunk]);
      while (frame.length >= 8) {
        const size = frame.readUInt32BE(4);
        if (frame.length < 8 + size) break;
        const kind = frame[0];
        const payload = frame.subarray(8, 8 + size);
        frame = frame.subarray(8 + size);
        if (kind !== 2) continue; // stdout: nothing is expected there
        buffer += payload.toString("latin1");
        let nl: number;
        while ((nl = buffer.indexOf("\n")) >= 0) {
          onLine(buffer.slice(0, nl));
          buffer = buffer.slice(nl + 1);
        }
        if (buffer.length > 256) buffer = ""; // no line that long means anything
      }
    });
    const ended = () => {
      if (!isReady) reject(new SandboxUnavailableError("docker", `the egress relay did not start in the container on the engine at ${clients.endpoint.display} (its listeners ended).`, { hint: RELAY_HINT }));
    };
    listener.once("end", ended);
    listener.once("close", ended);
    listener.once("error", ended);
  });
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new SandboxUnavailableError("docker", `the egress relay in the container on the engine at ${clients.endpoint.display} did not start listening within 15 s.`, { hint: RELAY_HINT })), 15_000);
  });
  try {
    await Promise.race([ready, timeout]);
  } catch (error) {
    stop();
    throw error;
  } finally {
    clearTimeout(timer);
  }
  while (spares.length < SPARES) spares.push(spare());
  return { stop };
}

const RELAY_HINT = "The image needs sh and socat for an allowlist over tcp+TLS (and a writable /tmp); install socat in the image, reach the engine over ssh:// (the proxy is relayed through the ssh connection), or use --network none";

function noSocat(clients: DockerClients): SandboxUnavailableError {
  return new SandboxUnavailableError("docker", `the image has no socat, which the egress relay needs in the container on the engine at ${clients.endpoint.display} (reached over tcp+TLS).`, { hint: RELAY_HINT });
}

/** docker's multiplexed exec stream (8-byte frame headers): stdout's payload to `out`, with backpressure. */
function demux(stream: Duplex, out: Socket): void {
  let frame: Buffer = Buffer.alloc(0);
  stream.on("data", (chunk: Buffer) => {
    frame = frame.length ? Buffer.concat([frame, chunk]) : chunk;
    while (frame.length >= 8) {
      const size = frame.readUInt32BE(4);
      if (frame.length < 8 + size) break;
      if (frame[0] === 1 && !out.write(frame.subarray(8, 8 + size))) {
        stream.pause();
        out.once("drain", () => stream.resume());
      }
      frame = frame.subarray(8 + size);
    }
  });
}
