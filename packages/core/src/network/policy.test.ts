import { describe, expect, it } from "vitest";
import { isPrivateAddress } from "./addresses.js";
import { decide, parsePolicy, parseRule, ruleFor, type ParsedPolicy } from "./policy.js";

describe("network policy", () => {
  it("parses domains, wildcards, IP literals and ports", () => {
    expect(parseRule("API.Example.com", "allow")).toEqual({ text: "API.Example.com", host: "api.example.com", wildcard: false, literal: false });
    expect(parseRule("*.npmjs.org:443", "allow")).toMatchObject({ host: "npmjs.org", wildcard: true, port: 443 });
    expect(parseRule("10.0.0.5:8080", "allow")).toMatchObject({ host: "10.0.0.5", port: 8080, literal: true });
    expect(parseRule("[::1]:4010", "allow")).toMatchObject({ host: "::1", port: 4010, literal: true });
    expect(parseRule("localhost:3000", "allow")).toMatchObject({ host: "localhost", literal: true });
  });

  it("refuses what is not a rule, saying what to write", () => {
    for (const bad of ["", "exa mple.com", "*.*.com", "foo.*.com", "*.10.0.0.1", "example.com:99999", "example.com:http", "-bad.com"]) {
      expect(() => parseRule(bad, "allow"), bad).toThrow(expect.objectContaining({ code: "E_NETWORK_POLICY", hint: expect.stringContaining("*.example.com") }));
    }
    expect(() => parsePolicy({ allow: "x" } as never)).toThrow(expect.objectContaining({ code: "E_NETWORK_POLICY" }));
    expect(parsePolicy("none")).toBe("none");
  });

  it("decides by name and port: deny wins, wildcards match subdomains only, no port means 80 and 443", () => {
    const policy = parsePolicy({ allow: ["*.example.com", "api.other.com:8443", "1.2.3.4"], deny: ["secret.example.com"] }) as ParsedPolicy;
    expect(decide(policy, "a.example.com", 443)).toMatchObject({ allowed: true, rule: "*.example.com" });
    expect(decide(policy, "b.a.example.com", 80)).toMatchObject({ allowed: true });
    expect(decide(policy, "example.com", 443)).toMatchObject({ allowed: false, reason: "no allow rule matches" });
    expect(decide(policy, "a.example.com", 22)).toMatchObject({ allowed: false });
    expect(decide(policy, "secret.example.com", 443)).toMatchObject({ allowed: false, rule: "secret.example.com" });
    expect(decide(policy, "API.OTHER.COM.", 8443)).toMatchObject({ allowed: true });
    expect(decide(policy, "api.other.com", 443)).toMatchObject({ allowed: false, reason: expect.stringContaining("port 8443 only") });
    expect(decide(policy, "1.2.3.4", 443)).toMatchObject({ allowed: true });
    expect(decide(policy, "1.2.3.5", 443)).toMatchObject({ allowed: false });
    expect(ruleFor("x.com", 443)).toBe("x.com");
    expect(ruleFor("x.com", 8080)).toBe("x.com:8080");
    expect(ruleFor("::1", 8080)).toBe("[::1]:8080");
  });

  it("knows which addresses are the host's own or private", () => {
    for (const address of ["127.0.0.1", "10.1.2.3", "172.16.0.1", "172.31.255.255", "192.168.1.1", "169.254.169.254", "100.64.0.1", "0.0.0.0", "::1", "::", "fd00::1", "fe80::1", "::ffff:127.0.0.1", "224.0.0.1"]) {
      expect(isPrivateAddress(address), address).toBe(true);
    }
    for (const address of ["1.1.1.1", "172.32.0.1", "8.8.8.8", "2606:4700::1111", "::ffff:8.8.8.8"]) expect(isPrivateAddress(address), address).toBe(false);
  });
});
