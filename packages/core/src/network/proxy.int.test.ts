import { execa } from "execa";
import { mkdtemp, readFile, realpath, rm, writeFile } from "node:fs/promises";
import { createServer as createHttpServer, type Server as HttpServer } from "node:http";
import { createServer as createHttpsServer } from "node:https";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parsePolicy, type ParsedPolicy } from "./policy.js";
import { EgressProxy, type EgressRecord } from "./proxy.js";

/**
 * The egress proxy against real clients (curl, openssl s_client) and real upstreams on loopback,
 * reached by name through the proxy's `hosts` mapping (DNS cannot be controlled here). Each attack
 * is next to the allowed request it must not break.
 */
describe("egress proxy", () => {
  let root: string;
  let http: HttpServer;
  let https: HttpServer;
  let httpPort: number;
  let httpsPort: number;
  let cert: string;
  const seen: Array<{ host?: string; key?: string; body: string; path?: string }> = [];

  const listen = (server: HttpServer) => new Promise<number>((resolve) => server.listen(0, "127.0.0.1", () => resolve((server.address() as { port: number }).port)));

  beforeAll(async () => {
    root = await realpath(await mkdtemp(join(tmpdir(), "corral-proxy-")));
    cert = join(root, "cert.pem");
    const key = join(root, "key.pem");
    await execa("openssl", ["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=allowed.test", "-addext", "subjectAltName=DNS:allowed.test,DNS:evil.test", "-keyout", key, "-out", cert, "-days", "1"]);
    const handler = (request: import("node:http").IncomingMessage, response: import("node:http").ServerResponse) => {
      let body = "";
      request.on("data", (chunk: Buffer) => (body += chunk.toString()));
      request.on("end", () => {
        seen.push({ ...(request.headers.host ? { host: request.headers.host } : {}), ...(typeof request.headers["x-api-key"] === "string" ? { key: request.headers["x-api-key"] } : {}), body, ...(request.url ? { path: request.url } : {}) });
        response.end(`hello from ${request.headers.host} ${request.url}\n`);
      });
    };
    http = createHttpServer(handler);
    https = createHttpsServer({ key: await readFile(key), cert: await readFile(cert) }, handler) as unknown as HttpServer;
    httpPort = await listen(http);
    httpsPort = await listen(https);
  });
  afterAll(async () => {
    await Promise.all([http, https].map((server) => new Promise((resolve) => server.close(resolve))));
    await rm(root, { recursive: true, force: true });
  });

  const start = async (allow: string[], extra: { deny?: string[]; resolver?: (host: string) => Promise<string[]> } = {}) => {
    const records: EgressRecord[] = [];
    const policy = parsePolicy({ allow, ...(extra.deny ? { deny: extra.deny } : {}) }) as ParsedPolicy;
    const proxy = await EgressProxy.start(
      { port: 0 },
      {
        policy,
        onRecord: (record) => records.push(record),
        hosts: { "allowed.test": "127.0.0.1", "denied.test": "127.0.0.1", "evil.test": "127.0.0.1" },
        gateways: { anthropic: { upstream: `http://127.0.0.1:${httpPort}/base`, headers: { "x-api-key": "sk-real-host-key" } } },
        ...(extra.resolver ? { resolver: extra.resolver } : {}),
      },
    );
    return { proxy, records, url: `http://127.0.0.1:${proxy.port}` };
  };
  const curl = (...args: string[]) => execa("curl", ["-sS", "--max-time", "20", ...args], { reject: false });

  it("allows a listed host over plain HTTP, CONNECT (TLS) and SOCKS5 with remote DNS, and logs each with its bytes", async () => {
    const { proxy, records, url } = await start([`allowed.test:${httpPort}`, `allowed.test:${httpsPort}`]);
    try {
      expect((await curl("-x", url, `http://allowed.test:${httpPort}/plain`)).stdout).toBe(`hello from allowed.test:${httpPort} /plain`);
      expect((await curl("-x", url, "--cacert", cert, `https://allowed.test:${httpsPort}/tls`)).stdout).toBe(`hello from allowed.test:${httpsPort} /tls`);
      expect((await curl("--socks5-hostname", `127.0.0.1:${proxy.port}`, `http://allowed.test:${httpPort}/socks`)).stdout).toBe(`hello from allowed.test:${httpPort} /socks`);
      await expect.poll(() => records.length).toBe(3);
      expect(records.map((r) => [r.allowed, r.protocol, r.host, r.rule])).toEqual([
        [true, "http", "allowed.test", `allowed.test:${httpPort}`],
        [true, "connect", "allowed.test", `allowed.test:${httpsPort}`],
        [true, "socks5", "allowed.test", `allowed.test:${httpPort}`],
      ]);
      expect(records.every((r) => r.bytesIn > 0 && r.bytesOut > 0)).toBe(true);
    } finally {
      await proxy.close();
    }
  });

  it("refuses a host not listed (HTTP 403 with the flag that allows it; SOCKS5 not-allowed), a raw IP, and a listed host on another port", async () => {
    const { proxy, records, url } = await start([`allowed.test:${httpPort}`]);
    try {
      const denied = await curl("-x", url, "-i", `http://denied.test:${httpPort}/`);
      expect(denied.stdout).toMatch(/^HTTP\/1\.1 403/);
      expect(denied.stdout).toContain("X-Proxy-Error: blocked-by-allowlist");
      expect(denied.stdout).toContain(`--allow-domain denied.test:${httpPort}`);
      expect((await curl("--socks5-hostname", `127.0.0.1:${proxy.port}`, `http://denied.test:${httpPort}/`)).exitCode).not.toBe(0);
      expect((await curl("-x", url, "-o", "/dev/null", "-w", "%{http_code}", `http://127.0.0.1:${httpPort}/`)).stdout).toBe("403");
      expect((await curl("-x", url, "-o", "/dev/null", "-w", "%{http_connect}", "--cacert", cert, `https://allowed.test:${httpsPort}/`)).stdout).toBe("403");
      await expect.poll(() => records.length).toBe(4);
      expect(records.every((r) => !r.allowed)).toBe(true);
      expect(records.map((r) => r.host)).toEqual(["denied.test", "denied.test", "127.0.0.1", "allowed.test"]);
      expect(records[3]!.reason).toContain(`allows port ${httpPort} only`);
      expect(records[3]!.allowWith).toBe(`allowed.test:${httpsPort}`);
      expect(seen.filter((s) => s.host?.startsWith("denied.test"))).toEqual([]);
    } finally {
      await proxy.close();
    }
  });

  it("a deny rule wins over an allow rule; a wildcard allows subdomains, not the domain itself", async () => {
    const { proxy, records, url } = await start([`*.test:${httpPort}`], { deny: [`evil.test:${httpPort}`] });
    try {
      expect((await curl("-x", url, `http://allowed.test:${httpPort}/`)).stdout).toContain("hello");
      expect((await curl("-x", url, "-o", "/dev/null", "-w", "%{http_code}", `http://evil.test:${httpPort}/`)).stdout).toBe("403");
      await expect.poll(() => records.length).toBe(2);
      expect(records.find((r) => r.host === "evil.test")).toMatchObject({ allowed: false, rule: `evil.test:${httpPort}`, reason: `denied by "evil.test:${httpPort}"` });
      expect(records.find((r) => r.host === "allowed.test")).toMatchObject({ allowed: true, rule: `*.test:${httpPort}` });
    } finally {
      await proxy.close();
    }
  });

  it("refuses a forged Host header and a TLS server name that is not the CONNECT target (no domain fronting)", async () => {
    const { proxy, records, url } = await start([`allowed.test:${httpPort}`, `allowed.test:${httpsPort}`]);
    try {
      expect((await curl("-x", url, "-o", "/dev/null", "-w", "%{http_code}", "-H", "Host: evil.test", `http://allowed.test:${httpPort}/`)).stdout).toBe("403");
      const fronted = await execa("openssl", ["s_client", "-proxy", `127.0.0.1:${proxy.port}`, "-connect", `allowed.test:${httpsPort}`, "-servername", "evil.test", "-CAfile", cert], { reject: false, input: "GET / HTTP/1.0\r\n\r\n", timeout: 20_000 });
      expect(fronted.stdout).not.toContain("hello from");
      // The twin: the same tunnel with the matching name works.
      const straight = await execa("openssl", ["s_client", "-quiet", "-proxy", `127.0.0.1:${proxy.port}`, "-connect", `allowed.test:${httpsPort}`, "-servername", "allowed.test", "-CAfile", cert], { reject: false, input: "GET /sni HTTP/1.0\r\nHost: allowed.test\r\n\r\n", timeout: 20_000 });
      expect(straight.stdout).toContain("hello from allowed.test /sni");
      await expect.poll(() => records.length).toBe(3);
      expect(records.filter((r) => !r.allowed).map((r) => r.reason)).toEqual([expect.stringContaining("Host header"), expect.stringContaining("TLS server name (evil.test)")]);
      expect(records.filter((r) => r.allowed)).toHaveLength(1);
    } finally {
      await proxy.close();
    }
  });

  it("a listed name that resolves to a loopback or private address is refused (no DNS rebinding into the host)", async () => {
    const { proxy, records, url } = await start([`rebind.test:${httpPort}`, `127.0.0.1:${httpPort}`], { resolver: async () => ["127.0.0.1"] });
    try {
      expect((await curl("-x", url, "-o", "/dev/null", "-w", "%{http_code}", `http://rebind.test:${httpPort}/`)).stdout).toBe("403");
      // The twin: the address itself, when a rule names it, is reached.
      expect((await curl("-x", url, `http://127.0.0.1:${httpPort}/direct`)).stdout).toContain("/direct");
      await expect.poll(() => records.length).toBe(2);
      expect(records.find((r) => !r.allowed)!.reason).toContain("resolves to a private address (127.0.0.1)");
    } finally {
      await proxy.close();
    }
  });

  it("the credentials gateway adds the host's key and drops the one the sandbox sent, for plain and chunked bodies", async () => {
    const { proxy, records, url } = await start([]);
    try {
      const plain = await curl(`${url}/.corral-gateway/anthropic/v1/messages`, "-H", "x-api-key: placeholder", "-d", '{"q":1}');
      expect(plain.stdout).toBe(`hello from 127.0.0.1:${httpPort} /base/v1/messages`);
      const body = join(root, "body.json");
      await writeFile(body, JSON.stringify({ big: "x".repeat(100_000) }));
      const chunked = await curl(`${url}/.corral-gateway/anthropic/v1/messages`, "-H", "Transfer-Encoding: chunked", "-H", "x-api-key: placeholder", "--data-binary", `@${body}`);
      expect(chunked.stdout).toContain("/base/v1/messages");
      const [first, second] = seen.filter((s) => s.path === "/base/v1/messages").slice(-2);
      expect(first).toMatchObject({ key: "sk-real-host-key", body: '{"q":1}' });
      expect(second!.key).toBe("sk-real-host-key");
      expect(second!.body.length).toBe(100_010);
      const unknown = await curl("-o", "/dev/null", "-w", "%{http_code}", `${url}/.corral-gateway/nope/x`);
      expect(unknown.stdout).toBe("403");
      await expect.poll(() => records.length).toBe(3);
      expect(records.slice(0, 2).map((r) => [r.protocol, r.allowed])).toEqual([["gateway", true], ["gateway", true]]);
    } finally {
      await proxy.close();
    }
  });

  it("a client that tunnels even plain HTTP (CONNECT to the sandbox's own proxy port) reaches the gateway; twin: a CONNECT to any other loopback port is refused", async () => {
    const records: EgressRecord[] = [];
    const policy = parsePolicy({ allow: [] }) as ParsedPolicy;
    const selfPort = 3128;
    const proxy = await EgressProxy.start({ port: 0 }, { policy, onRecord: (r) => records.push(r), selfPorts: [selfPort], gateways: { anthropic: { upstream: `http://127.0.0.1:${httpPort}/base`, headers: { "x-api-key": "sk-real-host-key" } } } });
    try {
      // curl's --proxytunnel does what undici's ProxyAgent does: CONNECT first, then the request inside.
      const tunnelled = await curl("-x", `http://127.0.0.1:${proxy.port}`, "--proxytunnel", "-H", "x-api-key: placeholder", "-d", '{"q":2}', `http://127.0.0.1:${selfPort}/.corral-gateway/anthropic/v1/messages`);
      expect(tunnelled.stdout).toBe(`hello from 127.0.0.1:${httpPort} /base/v1/messages`);
      expect(seen.at(-1)).toMatchObject({ key: "sk-real-host-key", body: '{"q":2}' });
      const elsewhere = await curl("-o", "/dev/null", "-w", "%{http_code}", "-x", `http://127.0.0.1:${proxy.port}`, "--proxytunnel", `http://127.0.0.1:${httpPort}/.corral-gateway/anthropic/v1/messages`);
      expect(elsewhere.stdout).not.toBe("200");
      expect(seen.filter((s) => s.body === '{"q":2}')).toHaveLength(1);
      await expect.poll(() => records.length).toBe(2);
      expect(records.map((r) => [r.protocol, r.allowed])).toEqual([["gateway", true], ["connect", false]]);
    } finally {
      await proxy.close();
    }
  });
});
