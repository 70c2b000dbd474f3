import { mkdir, mkdtemp, rm, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { etcArgs, SECRET_PATHS } from "./etc.js";

const pairs = (args: string[], flag: string) => args.flatMap((arg, i) => (arg === flag ? [[args[i + 1], args[i + 2]]] : []));

describe("etcArgs (what minimal shows of /etc)", () => {
  let root: string;
  let etc: string;
  beforeAll(async () => {
    root = await mkdtemp(join(tmpdir(), "corral-etc-"));
    etc = join(root, "etc");
    await mkdir(etc);
    for (const file of ["passwd", "group", "hosts", "nsswitch.conf", "ld.so.cache", "machine-id", "hostname", "npmrc", "shadow"]) await writeFile(join(etc, file), "x\n");
    for (const dir of ["ssl/certs", "ssl/private", "docker", "containers", "NetworkManager/system-connections", "python3.11", "alternatives", "apt"]) await mkdir(join(etc, dir), { recursive: true });
    await symlink("/usr/share/zoneinfo/Europe/Berlin", join(etc, "localtime"));
    await mkdir(join(root, "run/resolve"), { recursive: true });
    await writeFile(join(root, "run/resolve/stub-resolv.conf"), "nameserver 127.0.0.53\n");
    await symlink(join(root, "run/resolve/stub-resolv.conf"), join(etc, "resolv.conf"));
  });
  afterAll(() => rm(root, { recursive: true, force: true }));

  it("shows what tools need, read-only, at /etc", () => {
    const binds = pairs(etcArgs(etc), "--ro-bind");
    for (const name of ["passwd", "group", "hosts", "nsswitch.conf", "ld.so.cache", "ssl", "python3.11", "alternatives"]) expect(binds).toContainEqual([join(etc, name), `/etc/${name}`]);
  });

  it("keeps symlinks as symlinks, and shows where resolv.conf points", () => {
    const args = etcArgs(etc);
    expect(pairs(args, "--symlink")).toContainEqual(["/usr/share/zoneinfo/Europe/Berlin", "/etc/localtime"]);
    const target = join(root, "run/resolve/stub-resolv.conf");
    expect(pairs(args, "--symlink")).toContainEqual([target, "/etc/resolv.conf"]);
    expect(pairs(args, "--ro-bind")).toContainEqual([target, target]);
  });

  it("leaves out the host's identity and credentials", () => {
    const shown = etcArgs(etc).filter((arg) => arg.startsWith("/etc/"));
    for (const name of ["machine-id", "hostname", "npmrc", "shadow", "docker", "containers", "NetworkManager", "apt"]) expect(shown, name).not.toContain(`/etc/${name}`);
  });

  it("masks the secrets inside what it shows", () => {
    const args = etcArgs(etc);
    expect(pairs(args, "--tmpfs")).toContainEqual(["/etc/ssl/private", "--remount-ro"]);
    expect(args.indexOf("/etc/ssl/private")).toBeGreaterThan(args.indexOf("/etc/ssl"));
  });

  it("lists the machine's identity and engine credentials among the secrets hidden under either policy", () => {
    expect(SECRET_PATHS).toEqual(expect.arrayContaining(["/etc/machine-id", "/etc/docker", "/etc/containers/auth.json", "/etc/ssl/private", "/etc/NetworkManager/system-connections", "/etc/shadow"]));
  });

  it("shows nothing where there is no /etc", () => {
    expect(etcArgs(join(etc, "nope"))).toEqual([]);
  });
});
