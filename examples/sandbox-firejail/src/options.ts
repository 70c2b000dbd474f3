import { z } from "zod";

/** Host paths hidden inside the sandbox by default: credentials and engine sockets. `~` is the host user's home. */
export const DEFAULT_DENY = [
  "~/.ssh",
  "~/.aws",
  "~/.gnupg",
  "~/.config/gcloud",
  "~/.docker",
  "~/.kube",
  "~/.netrc",
  "~/.npmrc",
  "~/.git-credentials",
  "/etc/shadow",
  "/etc/gshadow",
  "/etc/sudoers",
  "/etc/sudoers.d",
  "/etc/ssh",
  "/etc/ssl/private",
  "/var/run/docker.sock",
  "/run/docker.sock",
  "/run/containerd",
  "/run/podman",
];

/** Options of the `firejail` sandbox. */
export const firejailOptions = z
  .object({
    /** The firejail binary: a name looked up on PATH, or an absolute path. */
    firejailPath: z.string().min(1).default("firejail"),
    /** Host paths to hide (replaced by an empty, inaccessible file or folder). Replaces the default list. */
    denyRead: z.array(z.string().min(1)).default(DEFAULT_DENY),
    /** firejail's default seccomp filter (blocks mount, kexec, module loading, ptrace of others…). */
    seccomp: z.boolean().default(true),
    /** More firejail arguments, added before the command. You own what they do. */
    extraArgs: z.array(z.string()).default([]),
  })
  .strict();

export type FirejailOptions = z.output<typeof firejailOptions>;
export type FirejailOptionsInput = z.input<typeof firejailOptions>;
