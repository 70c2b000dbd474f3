import { lookup } from "node:dns/promises";
import { request as httpRequest } from "node:http";
import { request as httpsRequest } from "node:https";
import { connect, createServer, isIP, type Server, type Socket } from "node:net";
import { rm } from "node:fs/promises";
import { decide, ruleFor, type ParsedPolicy } from "./policy.js";
import { isPrivateAddress } from "./addresses.js";
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
  /** Called once per connection, when it ends (allowed) or at once (denied). */
  onRecord?: (record: EgressRecord) => void;
  /** Names with fixed addresses (tests, or a user's explicit mapping): used instead of DNS, trusted as given. */
  hosts?: Record<string, string>;
  gateways?: Record<string, Gateway>;
  /** Resolves names that `hosts` does not map (default: the system resolver). Its answers are checked like DNS's. */
  resolver?: (host: string) => Promise<string[]>;
}

/** The path prefix of credentials-gateway requests. */
export const GATEWAY_PREFIX = "/.corral-gateway/";
const MAX_HEAD = 64 * 1024;
const HEAD_TIMEOUT_MS = 30_000;

/**
 * corral's egress proxy for one run: HTTP (CONNECT and plain, absolute-form) and SOCKS5 (remote DNS)
 * on one listener, told apart by their first byte. Every connection is decided by the run's
 * allowlist by the name the client asked for; a name that resolves to a private or loopback address
 * is refused unless the rule names the address itself (no DNS rebinding into the host). A TLS
 * ClientHello whose server name differs from the CONNECT target is refused (no domain fronting), as
 * is a plain request whose Host header differs from its URL. Denials answer 403 with
 * `X-Proxy-Error: blocked-by-allowlist` (SOCKS5: "not allowed by ruleset").
 */
export class EgressProxy {
  readonly #server: Server;
  readonly #options: EgressProxyOptions;
  readonly #sockets = new Set<Socket>();
  readonly #listen: string | { host: string; port: number };

  private constructor(server: Server, options: EgressProxyOptions, listen: string | { host: string; port: number }) {
    this.#server = server;
    this.#options = options;
    this.#listen = listen;
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
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
    if (typeof this.#listen === "string") await rm(this.#listen, { force: true });
  }

  #accept(client: Socket): void {
    this.#sockets.add(client);
    client.on("close", () => this.#sockets.delete(client));
    client.on("error", () => client.destroy());
    client.setTimeout(HEAD_TIMEOUT_MS, () => client.destroy());
    client.once("data", (first: Buffer) => {
      client.pause();
      if (first[0] === 0x05) void this.#socks(client, first);
      else void this.#http(client, first);
    });
  }

  // ---------------------------------------------------------------- HTTP

  async #http(client: Socket, first: Buffer): Promise<void> {
    const head = await readUntil(client, first, Buffer.from("\r\n\r\n"), MAX_HEAD);
    if (!head) return void client.destroy();
    const [headText, rest] = [head.head.toString("latin1"), head.rest];
    const [requestLine = "", ...headerLines] = headText.split("\r\n");
    const [method = "", target = "", version = "HTTP/1.1"] = requestLine.split(" ");
    const headers = parseHeaders(headerLines);

    if (method === "CONNECT") {
      const parsed = splitHostPort(target, 443);
      if (!parsed) return this.#refuseHttp(client, { host: target, port: 0, protocol: "connect", reason: "the CONNECT target is not host:port" });
      return this.#tunnel(client, parsed.host, parsed.port, "connect", rest, () => client.write(`${version} 200 Connection Established\r\n\r\n`));
    }
    if (target.startsWith(GATEWAY_PREFIX)) return this.#gateway(client, method, target, version, headers, rest);
    let url: URL;
    try {
      url = new URL(target);
    } catch {
      return this.#refuseHttp(client, { host: headers.host ?? "", port: 0, protocol: "http", reason: "not a proxy request (an absolute http:// URL or CONNECT was expected)" }, 400);
    }
    // A tool that sends even loopback through the proxy reaches the gateway as an absolute URL.
    if (url.pathname.startsWith(GATEWAY_PREFIX) && ["127.0.0.1", "localhost", "[::1]"].includes(url.hostname)) {
      return this.#gateway(client, method, `${url.pathname}${url.search}`, version, headers, rest);
    }
    if (url.protocol !== "http:") return this.#refuseHttp(client, { host: url.hostname, port: Number(url.port) || 443, protocol: "http", reason: `${url.protocol} requests go through CONNECT` }, 400);
    const host = url.hostname.replace(/^\[(.*)\]$/, "$1");
    const port = Number(url.port) || 80;
    const hostHeader = splitHostPort(headers.host ?? "", 80);
    if (!hostHeader || hostHeader.host !== host.toLowerCase() || hostHeader.port !== port) {
      return this.#refuseHttp(client, { host, port, protocol: "http", reason: `its Host header (${headers.host ?? "none"}) is not the host it asks the proxy for` });
    }
    // One request per connection: a second request on it could name another host.
    const forwarded = [`${method} ${url.pathname}${url.search} ${version}`, ...headerLines.filter((line) => !/^(proxy-[^:]*|connection|keep-alive):/i.test(line)), "Connection: close", "", ""].join("\r\n");
    return this.#tunnel(client, host, port, "http", Buffer.concat([Buffer.from(forwarded, "latin1"), rest]), undefined);
  }

  #refuseHttp(client: Socket, what: Pick<EgressRecord, "host" | "port" | "protocol" | "reason"> & { rule?: string }, status = 403): void {
    const record = this.#record({ ...what, allowed: false, bytesIn: 0, bytesOut: 0, ...(what.port ? { allowWith: ruleFor(what.host, what.port) } : {}) });
    const body = `corral blocked ${what.host}${what.port ? `:${what.port}` : ""}: ${what.reason}.${record.allowWith ? ` Allow it with --allow-domain ${record.allowWith} (network.allow in corral.config).` : ""}\n`;
    client.end(`HTTP/1.1 ${status} ${status === 403 ? "Forbidden" : "Bad Request"}\r\nX-Proxy-Error: blocked-by-allowlist\r\nContent-Type: text/plain\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`);
  }

  // ---------------------------------------------------------------- SOCKS5

  async #socks(client: Socket, first: Buffer): Promise<void> {
    const greeting = await readAtLeast(client, first, 2);
    if (!greeting) return void client.destroy();
    const methods = greeting[1]!;
    const afterGreeting = await readAtLeast(client, greeting, 2 + methods);
    if (!afterGreeting) return void client.destroy();
    client.write(Buffer.from([0x05, 0x00])); // no authentication: the socket is the run's own
    let buffer = afterGreeting.subarray(2 + methods);
    const header = await readAtLeast(client, buffer, 5);
    if (!header) return void client.destroy();
    const reply = (code: number) => Buffer.from([0x05, code, 0x00, 0x01, 0, 0, 0, 0, 0, 0]);
    if (header[0] !== 0x05 || header[1] !== 0x01) return void client.end(reply(0x07)); // only CONNECT
    const type = header[3]!;
    const addressLength = type === 0x01 ? 4 : type === 0x04 ? 16 : type === 0x03 ? 1 + header[4]! : -1;
    if (addressLength < 0) return void client.end(reply(0x08));
    const full = await readAtLeast(client, header, 4 + addressLength + 2);
    if (!full) return void client.destroy();
    const address = full.subarray(4, 4 + addressLength);
    const host =
      type === 0x01 ? [...address].join(".") : type === 0x04 ? ipv6(address) : address.subarray(1).toString("latin1");
    const port = full.readUInt16BE(4 + addressLength);
    buffer = full.subarray(4 + addressLength + 2);
    await this.#tunnel(client, host, port, "socks5", buffer, () => client.write(reply(0x00)), (code) => client.end(reply(code)));
  }

  // ---------------------------------------------------------------- the tunnel, for all three

  /**
   * Decides, resolves, connects, acknowledges (`ready`), then checks the first bytes the client
   * sends (a TLS ClientHello must name the same host) before anything reaches the upstream.
   */
  async #tunnel(
    client: Socket,
    host: string,
    port: number,
    protocol: EgressRecord["protocol"],
    pending: Buffer,
    ready: (() => void) | undefined,
    refuse?: (socksCode: number) => void,
  ): Promise<void> {
    const deny = (reason: string, rule?: string) => {
      if (protocol === "socks5") {
        this.#record({ allowed: false, host, port, protocol, reason, ...(rule ? { rule } : {}), allowWith: ruleFor(host, port), bytesIn: 0, bytesOut: 0 });
        refuse?.(0x02);
      } else {
        this.#refuseHttp(client, { host, port, protocol, reason, ...(rule ? { rule } : {}) });
      }
    };
    const decision = decide(this.#options.policy, host, port);
    if (!decision.allowed) return deny(decision.reason, decision.rule);
    const rule = this.#options.policy.allow.find((r) => r.text === decision.rule);
    const address = await this.#resolve(host, rule?.literal === true).catch((error: Error) => ({ error: error.message }));
    if (typeof address !== "string") return deny(address.error);

    const upstream = connect({ host: address, port });
    let connected = false;
    const record: EgressRecord = { allowed: true, host, port, protocol, rule: decision.rule!, reason: decision.reason, bytesIn: 0, bytesOut: 0 };
    let done = false;
    const finish = (error?: string) => {
      if (done) return;
      done = true;
      if (error) record.error = error;
      this.#record(record);
      client.destroy();
      upstream.destroy();
    };
    upstream.once("error", (error) => {
      if (!connected) {
        if (protocol === "socks5") refuse?.(0x05);
        else if (ready) client.end(`HTTP/1.1 502 Bad Gateway\r\nX-Proxy-Error: upstream-unreachable\r\nContent-Length: 0\r\n\r\n`);
      }
      finish(error.message);
    });
    upstream.setTimeout(HEAD_TIMEOUT_MS, () => {
      if (upstream.connecting) finish("connection timed out");
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
    ready?.();

    // A TLS ClientHello must name the host the tunnel was opened for.
    const first = pending.length ? pending : await firstData(client);
    if (first === undefined) return finish();
    const hello = first[0] === 0x16 ? await readClientHello(client, first) : { data: first };
    const serverName = hello.data ? readClientHelloServerName(hello.data) : undefined;
    if (serverName !== undefined && serverName.toLowerCase() !== host.toLowerCase()) {
      record.allowed = false;
      record.reason = `its TLS server name (${serverName}) is not the host it asked for`;
      record.allowWith = ruleFor(serverName, port);
      delete record.rule;
      return finish();
    }
    const data = hello.data ?? first;
    record.bytesOut += data.length;
    upstream.write(data);
    client.on("data", (chunk: Buffer) => {
      record.bytesOut += chunk.length;
      if (!upstream.write(chunk)) client.pause();
    });
    upstream.on("drain", () => client.resume());
    upstream.on("data", (chunk: Buffer) => {
      record.bytesIn += chunk.length;
      if (!client.write(chunk)) upstream.pause();
    });
    client.on("drain", () => upstream.resume());
    client.once("end", () => upstream.end());
    upstream.once("end", () => client.end());
    client.once("close", () => finish());
    upstream.once("close", () => finish());
    client.resume();
  }

  /** The address to connect to: a literal as is, a mapped name as mapped, a resolved name only if public. */
  async #resolve(host: string, literalRule: boolean): Promise<string> {
    const mapped = this.#options.hosts?.[host.toLowerCase()];
    if (mapped) return mapped;
    if (isIP(host)) return host;
    if (host === "localhost") {
      if (literalRule) return "127.0.0.1";
      throw new Error("localhost is only reached when an allow rule names it");
    }
    let addresses: string[];
    try {
      addresses = this.#options.resolver ? await this.#options.resolver(host) : (await lookup(host, { all: true })).map((a) => a.address);
    } catch (error) {
      throw new Error(`${host} does not resolve (${(error as NodeJS.ErrnoException).code ?? "DNS error"})`);
    }
    if (!addresses.length) throw new Error(`${host} does not resolve`);
    const unsafe = addresses.find((address) => isPrivateAddress(address));
    if (unsafe) throw new Error(`${host} resolves to a private address (${unsafe}); allow that address itself if you mean it`);
    return addresses[0]!;
  }

  // ---------------------------------------------------------------- the credentials gateway

  async #gateway(client: Socket, method: string, target: string, version: string, headers: Record<string, string>, rest: Buffer): Promise<void> {
    const [name = "", ...path] = target.slice(GATEWAY_PREFIX.length).split("/");
    const gateway = this.#options.gateways?.[name];
    const upstream = gateway ? new URL(gateway.upstream) : undefined;
    if (!gateway || !upstream) {
      return this.#refuseHttp(client, { host: `gateway ${name}`, port: 0, protocol: "gateway", reason: "no such credentials gateway" });
    }
    const port = Number(upstream.port) || (upstream.protocol === "https:" ? 443 : 80);
    const record: EgressRecord = { allowed: true, host: upstream.hostname, port, protocol: "gateway", reason: `the ${name} credentials gateway`, rule: `gateway ${name}`, bytesIn: 0, bytesOut: 0 };
    const drop = new Set(["host", "connection", "keep-alive", "proxy-connection", "transfer-encoding", ...Object.keys(gateway.headers).map((h) => h.toLowerCase())]);
    const outgoing: Record<string, string> = {};
    for (const [key, value] of Object.entries(headers)) if (!drop.has(key)) outgoing[key] = value;
    Object.assign(outgoing, gateway.headers);
    const base = upstream.pathname.replace(/\/$/, "");
    const send = upstream.protocol === "https:" ? httpsRequest : httpRequest;
    const chunked = headers["transfer-encoding"]?.toLowerCase().includes("chunked");
    const request = send({ protocol: upstream.protocol, hostname: upstream.hostname, port, method, path: `${base}/${path.join("/")}`, headers: outgoing });
    request.on("response", (response) => {
      const lines = [`${version} ${response.statusCode ?? 502} ${response.statusMessage ?? ""}`];
      for (let i = 0; i < response.rawHeaders.length; i += 2) {
        if (!/^(connection|keep-alive|transfer-encoding)$/i.test(response.rawHeaders[i]!)) lines.push(`${response.rawHeaders[i]}: ${response.rawHeaders[i + 1]}`);
      }
      lines.push("Connection: close", "", "");
      client.write(lines.join("\r\n"));
      response.on("data", (chunk: Buffer) => {
        record.bytesIn += chunk.length;
        client.write(chunk);
      });
      response.on("end", () => {
        this.#record(record);
        client.end();
      });
    });
    request.on("error", (error) => {
      record.error = error.message;
      this.#record(record);
      client.end(`${version} 502 Bad Gateway\r\nContent-Length: 0\r\nConnection: close\r\n\r\n`);
    });
    // The request body: chunked (decoded here, re-chunked by node) or Content-Length bytes.
    const length = Number(headers["content-length"] ?? 0);
    if (chunked) {
      const decoder = new ChunkedDecoder((chunk) => {
        record.bytesOut += chunk.length;
        request.write(chunk);
      }, () => request.end());
      decoder.push(rest);
      client.on("data", (chunk: Buffer) => decoder.push(chunk));
    } else {
      let remaining = length;
      const take = (chunk: Buffer) => {
        const part = chunk.subarray(0, remaining);
        remaining -= part.length;
        record.bytesOut += part.length;
        request.write(part);
        if (remaining <= 0) request.end();
      };
      if (remaining <= 0) request.end();
      else {
        if (rest.length) take(rest);
        if (remaining > 0) client.on("data", take);
      }
    }
    client.resume();
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

function parseHeaders(lines: string[]): Record<string, string> {
  const headers: Record<string, string> = {};
  for (const line of lines) {
    const colon = line.indexOf(":");
    if (colon > 0) headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
  }
  return headers;
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
    const more = await firstData(socket);
    if (!more) return undefined;
    data = Buffer.concat([data, more]);
  }
  return data;
}

/** Reads until `marker`; the bytes up to it (`head`) and after it (`rest`). Undefined past `max` or on close. */
async function readUntil(socket: Socket, buffer: Buffer, marker: Buffer, max: number): Promise<{ head: Buffer; rest: Buffer } | undefined> {
  let data = buffer;
  for (;;) {
    const at = data.indexOf(marker);
    if (at !== -1) return { head: data.subarray(0, at), rest: data.subarray(at + marker.length) };
    if (data.length > max) return undefined;
    const more = await firstData(socket);
    if (!more) return undefined;
    data = Buffer.concat([data, more]);
  }
}

/** The next chunk from a paused socket, or undefined when it ends. */
function firstData(socket: Socket): Promise<Buffer | undefined> {
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

/** Reads a whole TLS handshake record (the ClientHello), up to 16 KiB. */
async function readClientHello(socket: Socket, first: Buffer): Promise<{ data?: Buffer }> {
  const header = await readAtLeast(socket, first, 5);
  if (!header) return {};
  const length = Math.min(header.readUInt16BE(3), 16 * 1024);
  const whole = await readAtLeast(socket, header, 5 + length);
  return whole ? { data: whole } : {};
}

/** Decodes `Transfer-Encoding: chunked` as it arrives. */
class ChunkedDecoder {
  #buffer = Buffer.alloc(0);
  #remaining = -1; // bytes left in the current chunk (+2 for its CRLF); -1: reading a size line
  #done = false;
  constructor(
    readonly onChunk: (chunk: Buffer) => void,
    readonly onEnd: () => void,
  ) {}
  push(data: Buffer): void {
    if (this.#done) return;
    this.#buffer = Buffer.concat([this.#buffer, data]);
    for (;;) {
      if (this.#remaining < 0) {
        const eol = this.#buffer.indexOf("\r\n");
        if (eol === -1) return;
        const size = Number.parseInt(this.#buffer.subarray(0, eol).toString("latin1"), 16);
        this.#buffer = this.#buffer.subarray(eol + 2);
        if (!Number.isFinite(size) || size === 0) {
          this.#done = true;
          this.onEnd();
          return;
        }
        this.#remaining = size + 2;
      }
      if (this.#buffer.length === 0) return;
      const take = this.#buffer.subarray(0, this.#remaining);
      this.#buffer = this.#buffer.subarray(take.length);
      const payload = take.subarray(0, Math.max(0, Math.min(take.length, this.#remaining - 2)));
      this.#remaining -= take.length;
      if (payload.length) this.onChunk(payload);
      if (this.#remaining === 0) this.#remaining = -1;
      else if (this.#buffer.length === 0) return;
    }
  }
}
