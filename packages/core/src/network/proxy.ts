import { lookup } from "node:dns/promises";
import { rm } from "node:fs/promises";
import { createServer as createHttpServer, request as httpRequest, type IncomingMessage, type ServerResponse } from "node:http";
import { request as httpsRequest } from "node:https";
import { connect, createServer, isIP, type Server, type Socket } from "node:net";
import type { Duplex } from "node:stream";
import { isPrivateAddress } from "./addresses.js";
import { decide, ruleFor, type ParsedPolicy } from "./policy.js";
import { readClientHelloServerName } from "./tls.js";

/** One connection the proxy decided on: what it was, what decided, how many bytes went each way. */
export interface EgressRecord {
  allowed: boolean;
  host: string;
  port: number;
  protocol: "http" | "connect" | "socks5" | "gateway";
  /** The allow or deny rule that decided, when one did. */
  rule?: string;
  reason: string;
  /** For a denial: the rule text that would allow it (`--allow-domain <it>`). */
  allowWith?: string;
  /** Client to upstream, and back. */
  bytesOut: number;
  bytesIn: number;
  /** Set when an allowed connection failed (upstream unreachable, refused). */
  error?: string;
}

/** A credentials gateway: requests to `/.corral-gateway/<name>/…` go to `upstream` with headers only the host knows. */
export interface Gateway {
  /** Base URL of the real API, e.g. `https://api.anthropic.com` or the mock's `http://127.0.0.1:4010`. */
  upstream: string;
  /** Headers set on every request (the real key); any value the sandbox sent for them is dropped. */
  headers: Record<string, string>;
}

export interface EgressProxyOptions {
  policy: ParsedPolicy;
  /** Called once per connection or request, when it ends (allowed) or at once (denied). */
  onRecord?: (record: EgressRecord) => void;
  /** Names with fixed addresses (tests, or a user's explicit mapping): used instead of DNS, trusted as given. */
  hosts?: Record<string, string>;
  gateways?: Record<string, Gateway>;
  /** Resolves names that `hosts` does not map (default: the system resolver). Its answers are checked like DNS's. */
  resolver?: (host: string) => Promise<string[]>;
  /**
   * The loopback ports inside the sandbox that lead to this proxy. A CONNECT to one of them (a client
   * that tunnels even plain HTTP through its proxy, as undici's does) is served by the proxy itself,
   * so the credentials gateway works through it; any other loopback target is refused as before.
   */
  selfPorts?: readonly number[];
}

/** How a client names its own loopback (inside a sandbox: where the proxy's ports are). */
const LOOPBACK_NAMES = new Set(["127.0.0.1", "localhost", "::1"]);

/** The path prefix of credentials-gateway requests. */
export const GATEWAY_PREFIX = "/.corral-gateway/";
const TIMEOUT_MS = 30_000;
const HOP_BY_HOP = new Set(["connection", "keep-alive", "proxy-connection", "proxy-authorization", "proxy-authenticate", "te", "trailer", "transfer-encoding", "upgrade"]);

type Target = { address: string } | { error: string };

/**
 * corral's egress proxy for one run: HTTP (CONNECT and plain, absolute-form, keep-alive) and SOCKS5
 * (remote DNS) on one listener, told apart by their first byte. Every connection or plain request is
 * decided by the run's allowlist by the name the client asked for; a name that resolves to a private
 * or loopback address is refused unless the rule names the address itself (no DNS rebinding into the
 * host). A TLS ClientHello whose server name differs from the CONNECT target is refused (no domain
 * fronting), as is a plain request whose Host header differs from its URL. Denials answer 403 with
 * `X-Proxy-Error: blocked-by-allowlist` (SOCKS5: "not allowed by ruleset"). Requests to
 * `/.corral-gateway/<name>/` go to that credentials gateway.
 */
export class EgressProxy {
  readonly #server: Server;
  readonly #http = createHttpServer({ keepAliveTimeout: 5000 });
  readonly #options: EgressProxyOptions;
  readonly #sockets = new Set<Socket>();
  readonly #listen: string | { host: string; port: number };

  private constructor(server: Server, options: EgressProxyOptions, listen: string | { host: string; port: number }) {
    this.#server = server;
    this.#options = options;
    this.#listen = listen;
    this.#http.on("request", (request: IncomingMessage, response: ServerResponse) => void this.#request(request, response));
    this.#http.on("connect", (request: IncomingMessage, socket: Duplex, head: Buffer) => void this.#connect(request, socket as Socket, head));
    this.#http.on("clientError", (_error, socket: Duplex) => socket.destroy());
  }

  /** Listens on a unix socket path (what sandboxes bridge in) or a loopback TCP port (`{ port: 0 }` picks one). */
  static async start(listen: string | { port: number; host?: string }, options: EgressProxyOptions): Promise<EgressProxy> {
    const server = createServer();
    const target = typeof listen === "string" ? listen : { host: listen.host ?? "127.0.0.1", port: listen.port };
    const proxy = new EgressProxy(server, options, target);
    server.on("connection", (socket) => proxy.#accept(socket));
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      if (typeof target === "string") server.listen(target, () => resolve());
      else server.listen(target.port, target.host, () => resolve());
    });
    return proxy;
  }

  /** The TCP port it listens on (for `{ port }` listeners). */
  get port(): number | undefined {
    const address = this.#server.address();
    return typeof address === "object" && address ? address.port : undefined;
  }

  async close(): Promise<void> {
    for (const socket of this.#sockets) socket.destroy();
    this.#http.close();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
    if (typeof this.#listen === "string") await rm(this.#listen, { force: true });
  }

  #accept(client: Socket): void {
    this.#sockets.add(client);
    client.on("close", () => this.#sockets.delete(client));
    client.on("error", () => client.destroy());
    client.setTimeout(TIMEOUT_MS, () => client.destroy());
    client.once("data", (first: Buffer) => {
      client.pause();
      if (first[0] === 0x05) return void this.#socks(client, first);
      // HTTP: node's own parser takes over (keep-alive, framing, CONNECT; its own timeouts).
      client.setTimeout(0);
      client.unshift(first);
      this.#http.emit("connection", client);
      client.resume();
    });
  }

  // ---------------------------------------------------------------- plain HTTP and the gateway

  async #request(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const target = request.url ?? "";
    if (target.startsWith(GATEWAY_PREFIX)) return this.#gateway(request, response, target);
    let url: URL;
    try {
      url = new URL(target);
    } catch {
      return this.#refuseHttp(response, { host: request.headers.host ?? "", port: 0, protocol: "http", reason: "not a proxy request (an absolute http:// URL or CONNECT was expected)" }, 400);
    }
    // A tool that sends even loopback through the proxy reaches the gateway as an absolute URL.
    if (url.pathname.startsWith(GATEWAY_PREFIX) && LOOPBACK_NAMES.has(url.hostname.replace(/^\[(.*)\]$/, "$1"))) return this.#gateway(request, response, `${url.pathname}${url.search}`);
    const host = url.hostname.replace(/^\[(.*)\]$/, "$1");
    const port = Number(url.port) || (url.protocol === "https:" ? 443 : 80);
    if (url.protocol !== "http:") return this.#refuseHttp(response, { host, port, protocol: "http", reason: `${url.protocol} requests go through CONNECT` }, 400);
    const hostHeader = splitHostPort(request.headers.host ?? "", 80);
    if (!hostHeader || hostHeader.host !== host.toLowerCase() || hostHeader.port !== port) {
      return this.#refuseHttp(response, { host, port, protocol: "http", reason: `its Host header (${request.headers.host ?? "none"}) is not the host it asks the proxy for` });
    }
    const decision = decide(this.#options.policy, host, port);
    if (!decision.allowed) return this.#refuseHttp(response, { host, port, protocol: "http", reason: decision.reason, ...(decision.rule ? { rule: decision.rule } : {}) });
    const resolved = await this.#target(host, decision.rule);
    if ("error" in resolved) return this.#refuseHttp(response, { host, port, protocol: "http", reason: resolved.error });
    const record: EgressRecord = { allowed: true, host, port, protocol: "http", rule: decision.rule!, reason: decision.reason, bytesIn: 0, bytesOut: 0 };
    this.#forward(request, response, record, httpRequest, { hostname: resolved.address, port, path: `${url.pathname}${url.search}`, headers: forwardedHeaders(request, {}) });
  }

  async #gateway(request: IncomingMessage, response: ServerResponse, target: string): Promise<void> {
    const [name = "", ...path] = target.slice(GATEWAY_PREFIX.length).split("/");
    const gateway = this.#options.gateways?.[name];
    if (!gateway) return this.#refuseHttp(response, { host: `gateway ${name}`, port: 0, protocol: "gateway", reason: "no such credentials gateway" });
    const upstream = new URL(gateway.upstream);
    const port = Number(upstream.port) || (upstream.protocol === "https:" ? 443 : 80);
    const record: EgressRecord = { allowed: true, host: upstream.hostname, port, protocol: "gateway", rule: `gateway ${name}`, reason: `the ${name} credentials gateway`, bytesIn: 0, bytesOut: 0 };
    const base = upstream.pathname.replace(/\/$/, "");
    const send = upstream.protocol === "https:" ? httpsRequest : httpRequest;
    this.#forward(request, response, record, send, { hostname: upstream.hostname, port, path: `${base}/${path.join("/")}`, headers: forwardedHeaders(request, gateway.headers) });
  }

  /** Sends `request` on with its body, and streams the answer back; one record when it ends. */
  #forward(request: IncomingMessage, response: ServerResponse, record: EgressRecord, send: typeof httpRequest, target: { hostname: string; port: number; path: string; headers: Record<string, string | string[]> }): void {
    let done = false;
    const finish = (error?: string) => {
      if (done) return;
      done = true;
      if (error) record.error = error;
      this.#record(record);
    };
    const outgoing = send({ ...target, method: request.method, agent: false, timeout: TIMEOUT_MS });
    // The request line and headers count too (a GET has no body).
    record.bytesOut += Buffer.byteLength(`${request.method} ${target.path} HTTP/1.1\r\n${request.rawHeaders.join(": ")}\r\n\r\n`);
    request.on("data", (chunk: Buffer) => (record.bytesOut += chunk.length));
    request.pipe(outgoing);
    outgoing.on("response", (answer) => {
      // An answer may stream for minutes with long pauses (a model thinking): no idle timeout from here on.
      outgoing.setTimeout(0);
      const headers: Record<string, string | string[]> = {};
      for (const [key, value] of Object.entries(answer.headers)) if (value !== undefined && !HOP_BY_HOP.has(key)) headers[key] = value;
      response.writeHead(answer.statusCode ?? 502, answer.statusMessage, headers);
      answer.on("data", (chunk: Buffer) => (record.bytesIn += chunk.length));
      answer.pipe(response);
      answer.on("end", () => finish());
      answer.on("error", (error) => finish(error.message));
    });
    outgoing.on("timeout", () => outgoing.destroy(new Error("the upstream did not answer in time")));
    outgoing.on("error", (error) => {
      if (!response.headersSent) response.writeHead(502, { "X-Proxy-Error": "upstream-unreachable", "Content-Length": "0" }).end();
      else response.destroy();
      finish(error.message);
    });
    response.on("close", () => {
      if (!done) outgoing.destroy();
    });
  }

  #refuseHttp(response: ServerResponse, what: Pick<EgressRecord, "host" | "port" | "protocol" | "reason"> & { rule?: string }, status = 403): void {
    const record = this.#deny(what);
    const body = refusalText(what, record.allowWith);
    response.writeHead(status, { "X-Proxy-Error": "blocked-by-allowlist", "Content-Type": "text/plain", "Content-Length": Buffer.byteLength(body) }).end(body);
  }

  #deny(what: Pick<EgressRecord, "host" | "port" | "protocol" | "reason"> & { rule?: string }): EgressRecord {
    return this.#record({ allowed: false, ...what, bytesIn: 0, bytesOut: 0, ...(what.port ? { allowWith: ruleFor(what.host, what.port) } : {}) });
  }

  // ---------------------------------------------------------------- CONNECT and SOCKS5: tunnels

  async #connect(request: IncomingMessage, client: Socket, head: Buffer): Promise<void> {
    this.#sockets.add(client);
    const parsed = splitHostPort(request.url ?? "", 443);
    const refuse = (what: Pick<EgressRecord, "host" | "port" | "reason"> & { rule?: string }) => {
      const record = this.#deny({ ...what, protocol: "connect" });
      const body = refusalText(what, record.allowWith);
      client.end(`HTTP/1.1 403 Forbidden\r\nX-Proxy-Error: blocked-by-allowlist\r\nContent-Type: text/plain\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`);
    };
    if (!parsed) return refuse({ host: request.url ?? "", port: 0, reason: "the CONNECT target is not host:port" });
    if (LOOPBACK_NAMES.has(parsed.host) && this.#options.selfPorts?.includes(parsed.port)) {
      // Inside the sandbox this address is the proxy: the tunnel is one more connection to it.
      client.write("HTTP/1.1 200 Connection Established\r\n\r\n");
      if (head.length) client.unshift(head);
      this.#http.emit("connection", client);
      return;
    }
    await this.#tunnel(client, parsed.host, parsed.port, "connect", head, {
      refuse,
      ready: () => client.write("HTTP/1.1 200 Connection Established\r\n\r\n"),
      unreachable: () => client.end("HTTP/1.1 502 Bad Gateway\r\nX-Proxy-Error: upstream-unreachable\r\nContent-Length: 0\r\n\r\n"),
    });
  }

  async #socks(client: Socket, first: Buffer): Promise<void> {
    const greeting = await readAtLeast(client, first, 2);
    if (!greeting) return void client.destroy();
    const methods = greeting[1]!;
    const afterGreeting = await readAtLeast(client, greeting, 2 + methods);
    if (!afterGreeting) return void client.destroy();
    client.write(Buffer.from([0x05, 0x00])); // no authentication: the socket is the run's own
    const header = await readAtLeast(client, afterGreeting.subarray(2 + methods), 5);
    if (!header) return void client.destroy();
    const reply = (code: number) => Buffer.from([0x05, code, 0x00, 0x01, 0, 0, 0, 0, 0, 0]);
    if (header[0] !== 0x05 || header[1] !== 0x01) return void client.end(reply(0x07)); // only CONNECT
    const type = header[3]!;
    const addressLength = type === 0x01 ? 4 : type === 0x04 ? 16 : type === 0x03 ? 1 + header[4]! : -1;
    if (addressLength < 0) return void client.end(reply(0x08));
    const full = await readAtLeast(client, header, 4 + addressLength + 2);
    if (!full) return void client.destroy();
    const address = full.subarray(4, 4 + addressLength);
    const host = type === 0x01 ? [...address].join(".") : type === 0x04 ? ipv6(address) : address.subarray(1).toString("latin1");
    const port = full.readUInt16BE(4 + addressLength);
    await this.#tunnel(client, host, port, "socks5", full.subarray(4 + addressLength + 2), {
      refuse: (what) => {
        this.#deny({ ...what, protocol: "socks5" });
        client.end(reply(0x02));
      },
      ready: () => client.write(reply(0x00)),
      unreachable: () => client.end(reply(0x05)),
    });
  }

  /**
   * Decides, resolves, connects, acknowledges (`ready`), then checks the first bytes the client
   * sends (a TLS ClientHello must name the same host) before anything reaches the upstream.
   */
  async #tunnel(
    client: Socket,
    host: string,
    port: number,
    protocol: "connect" | "socks5",
    pending: Buffer,
    answer: { refuse: (what: { host: string; port: number; reason: string; rule?: string }) => void; ready: () => void; unreachable: () => void },
  ): Promise<void> {
    const decision = decide(this.#options.policy, host, port);
    if (!decision.allowed) return answer.refuse({ host, port, reason: decision.reason, ...(decision.rule ? { rule: decision.rule } : {}) });
    const resolved = await this.#target(host, decision.rule);
    if ("error" in resolved) return answer.refuse({ host, port, reason: resolved.error });

    const record: EgressRecord = { allowed: true, host, port, protocol, rule: decision.rule!, reason: decision.reason, bytesIn: 0, bytesOut: 0 };
    const upstream = connect({ host: resolved.address, port });
    let connected = false;
    let done = false;
    const finish = (error?: string) => {
      if (done) return;
      done = true;
      if (error) record.error = error;
      // What went each way, from the upstream socket's own counters (no per-chunk listener on the hot path).
      record.bytesOut = upstream.bytesWritten;
      record.bytesIn = upstream.bytesRead;
      this.#record(record);
      client.destroy();
      upstream.destroy();
    };
    upstream.once("error", (error) => {
      if (!connected) answer.unreachable();
      finish(error.message);
    });
    upstream.setTimeout(TIMEOUT_MS, () => {
      if (!connected) upstream.destroy(new Error("connection timed out"));
    });
    await new Promise<void>((resolve) => {
      upstream.once("connect", () => {
        connected = true;
        resolve();
      });
      upstream.once("close", () => resolve());
    });
    if (done || !connected) return;
    upstream.setTimeout(0);
    client.setTimeout(0);
    answer.ready();

    // A TLS ClientHello must name the host the tunnel was opened for.
    const first = pending.length ? pending : await nextChunk(client);
    if (first === undefined) return finish();
    const data = first[0] === 0x16 ? ((await readWholeRecord(client, first)) ?? first) : first;
    const serverName = readClientHelloServerName(data);
    if (serverName !== undefined && serverName.toLowerCase() !== host.toLowerCase()) {
      Object.assign(record, { allowed: false, reason: `its TLS server name (${serverName}) is not the host it asked for`, allowWith: ruleFor(serverName, port) });
      delete record.rule;
      return finish();
    }
    upstream.write(data);
    client.pipe(upstream);
    upstream.pipe(client);
    client.once("close", () => finish());
    upstream.once("close", () => finish());
    client.resume();
  }

  /** Where to connect for `host`: a literal as is, a mapped name as mapped, a resolved name only if public. */
  async #target(host: string, rule: string | undefined): Promise<Target> {
    const literalRule = this.#options.policy.allow.find((r) => r.text === rule)?.literal === true;
    const mapped = this.#options.hosts?.[host.toLowerCase()];
    if (mapped) return { address: mapped };
    if (isIP(host)) return { address: host };
    if (host === "localhost") return literalRule ? { address: "127.0.0.1" } : { error: "localhost is only reached when an allow rule names it" };
    let addresses: string[];
    try {
      addresses = this.#options.resolver ? await this.#options.resolver(host) : (await lookup(host, { all: true })).map((a) => a.address);
    } catch (error) {
      return { error: `${host} does not resolve (${(error as NodeJS.ErrnoException).code ?? "DNS error"})` };
    }
    if (!addresses.length) return { error: `${host} does not resolve` };
    const unsafe = addresses.find((address) => isPrivateAddress(address));
    if (unsafe) return { error: `${host} resolves to a private address (${unsafe}); allow that address itself if you mean it` };
    return { address: addresses[0]! };
  }

  #record(record: EgressRecord): EgressRecord {
    try {
      this.#options.onRecord?.(record);
    } catch {
      // an observer never breaks the proxy
    }
    return record;
  }
}

/** The headers sent on: the client's end-to-end ones, `set` replacing any of the same name. */
function forwardedHeaders(request: IncomingMessage, set: Record<string, string>): Record<string, string | string[]> {
  const replaced = new Set(Object.keys(set).map((key) => key.toLowerCase()));
  const headers: Record<string, string | string[]> = {};
  for (const [key, value] of Object.entries(request.headers)) {
    if (value !== undefined && !HOP_BY_HOP.has(key) && !replaced.has(key) && !(key === "host" && replaced.size)) headers[key] = value;
  }
  return { ...headers, ...set };
}

function refusalText(what: { host: string; port: number; reason: string }, allowWith: string | undefined): string {
  return `corral blocked ${what.host}${what.port ? `:${what.port}` : ""}: ${what.reason}.${allowWith ? ` Allow it with --allow-domain ${allowWith} (network.allow in corral.config).` : ""}\n`;
}

/** `host:port`, `[v6]:port`, or a bare host (with `fallback` as its port). Lower-cased. */
export function splitHostPort(value: string, fallback: number): { host: string; port: number } | undefined {
  const text = value.trim().toLowerCase();
  if (!text) return undefined;
  const v6 = /^\[([0-9a-f:.]+)\](?::(\d+))?$/.exec(text);
  if (v6) return { host: v6[1]!, port: v6[2] ? Number(v6[2]) : fallback };
  const colon = text.lastIndexOf(":");
  if (colon === -1) return { host: text, port: fallback };
  if (isIP(text) === 6) return { host: text, port: fallback };
  const port = Number(text.slice(colon + 1));
  if (!Number.isInteger(port) || port < 1 || port > 65535) return undefined;
  return { host: text.slice(0, colon), port };
}

function ipv6(bytes: Buffer): string {
  const groups: string[] = [];
  for (let i = 0; i < 16; i += 2) groups.push(bytes.readUInt16BE(i).toString(16));
  return groups.join(":");
}

/** Reads from a paused socket until `buffer` holds at least `size` bytes; undefined when it closes first. */
async function readAtLeast(socket: Socket, buffer: Buffer, size: number): Promise<Buffer | undefined> {
  let data = buffer;
  while (data.length < size) {
    const more = await nextChunk(socket);
    if (!more) return undefined;
    data = Buffer.concat([data, more]);
  }
  return data;
}

/** The next chunk from a paused socket, or undefined when it ends. */
function nextChunk(socket: Socket): Promise<Buffer | undefined> {
  return new Promise((resolve) => {
    const onData = (chunk: Buffer) => {
      cleanup();
      socket.pause();
      resolve(chunk);
    };
    const onEnd = () => {
      cleanup();
      resolve(undefined);
    };
    const cleanup = () => {
      socket.off("data", onData);
      socket.off("end", onEnd);
      socket.off("close", onEnd);
    };
    socket.on("data", onData);
    socket.once("end", onEnd);
    socket.once("close", onEnd);
    socket.resume();
  });
}

/** A whole TLS record (the ClientHello), up to 16 KiB; undefined when the socket closes first. */
async function readWholeRecord(socket: Socket, first: Buffer): Promise<Buffer | undefined> {
  const header = await readAtLeast(socket, first, 5);
  if (!header) return undefined;
  return readAtLeast(socket, header, 5 + Math.min(header.readUInt16BE(3), 16 * 1024));
}
