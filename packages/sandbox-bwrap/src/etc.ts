import { existsSync, readdirSync, readlinkSync, realpathSync } from "node:fs";
import { join } from "node:path";
import { kindOf, mask } from "./mask.js";

/**
 * What the `minimal` read policy shows of the host's /etc (read-only): what programs and their
 * libraries read to run, resolve names, speak TLS and tell the time, and nothing that identifies or
 * unlocks the host (machine-id, engine and network credentials, private keys, database passwords).
 * An entry ending in `*` is a name prefix (`java-17-openjdk`, `python3.11`). Anything else can be
 * shown with a mount: `mounts: [{ host: "/etc/foo" }]`.
 */
export const ETC_SHOWN: readonly string[] = [
  // users and names: getpwuid, getaddrinfo, /etc/services lookups
  "passwd", "group", "nsswitch.conf", "host.conf", "hosts", "resolv.conf", "gai.conf", "services", "protocols", "networks", "rpc", "netconfig",
  // the dynamic linker
  "ld.so.cache", "ld.so.conf", "ld.so.conf.d",
  // TLS: CA certificates and library configuration (Debian, Fedora, Arch); private keys stay masked
  "ssl", "ca-certificates", "ca-certificates.conf", "pki", "crypto-policies", "gnutls",
  // time and locale
  "localtime", "timezone", "locale.alias", "locale.conf",
  // Debian's alternatives (/usr/bin/cc -> /etc/alternatives/cc -> gcc), shells and terminals
  "alternatives", "profile", "profile.d", "bash.bashrc", "inputrc", "shells", "terminfo", "mtab",
  // what the system is; file types
  "os-release", "lsb-release", "debian_version", "redhat-release", "fedora-release", "alpine-release", "arch-release", "mime.types", "magic", "magic.mime",
  // tool and runtime configuration that holds no credentials
  "gitconfig", "gitattributes", "fonts", "xml", "perl", "python3*", "java", "java-*", "maven",
  // NixOS: most of /etc points into /etc/static, which points into the store
  "static",
];

/**
 * Host secrets hidden under either read policy (wherever they are shown at all): password hashes,
 * sudo rules, ssh host keys, TLS private keys, the machine's identity, and the credentials of
 * engines, networks, package mirrors, clusters and databases.
 */
export const SECRET_PATHS: readonly string[] = [
  "/etc/shadow", "/etc/shadow-", "/etc/gshadow", "/etc/gshadow-", "/etc/security/opasswd", "/etc/sudoers", "/etc/sudoers.d",
  "/etc/ssh", "/etc/ssl/private", "/etc/pki/tls/private", "/etc/letsencrypt", "/etc/krb5.keytab",
  "/etc/machine-id", "/var/lib/dbus/machine-id",
  "/etc/docker", "/etc/containers/auth.json", "/etc/NetworkManager/system-connections", "/etc/netplan", "/etc/wpa_supplicant",
  "/etc/wireguard", "/etc/openvpn", "/etc/ipsec.secrets", "/etc/ipsec.d/private", "/etc/ppp/chap-secrets", "/etc/ppp/pap-secrets",
  "/etc/apt/auth.conf", "/etc/apt/auth.conf.d", "/etc/kubernetes", "/etc/rancher", "/etc/mysql/debian.cnf",
];

const shown = (name: string) => ETC_SHOWN.some((entry) => (entry.endsWith("*") ? name.startsWith(entry.slice(0, -1)) : name === entry));

/**
 * The bwrap arguments that show the allowed part of the host's /etc read-only (symlinks as
 * symlinks), with the secrets inside what is shown masked. `etc` is the host folder (for tests).
 */
export function etcArgs(etc = "/etc"): string[] {
  const args: string[] = [];
  const names = (() => {
    try {
      return readdirSync(etc).filter(shown).sort();
    } catch {
      return [];
    }
  })();
  for (const name of names) {
    const host = join(etc, name);
    const inside = join("/etc", name);
    const kind = kindOf(host);
    if (kind === "symlink") args.push("--symlink", readlinkSync(host), inside);
    else if (kind !== "missing") args.push("--ro-bind", host, inside);
  }
  // DNS: /etc/resolv.conf often points into /run, which `minimal` does not show.
  const resolv = join(etc, "resolv.conf");
  if (kindOf(resolv) === "symlink" && existsSync(resolv)) {
    const target = realpathSync(resolv);
    if (!target.startsWith(`${etc}/`)) args.push("--ro-bind", target, target);
  }
  // Secrets inside what is shown (/etc/ssl/private): masked over the bind.
  for (const secret of SECRET_PATHS) {
    const [, top, name, ...rest] = secret.split("/");
    if (top === "etc" && rest.length > 0 && names.includes(name!)) args.push(...mask(secret, kindOf(join(etc, name!, ...rest))));
  }
  return args;
}
