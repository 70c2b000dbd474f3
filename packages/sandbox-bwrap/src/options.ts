import { z } from "zod";

const mount = z
  .object({
    /** Host path; `~` and relative paths (against the current directory) are resolved on the host. */
    host: z.string().min(1),
    /** Path inside the sandbox; defaults to the resolved host path. */
    sandbox: z.string().startsWith("/", "must be an absolute path inside the sandbox").optional(),
    /** Defaults to true. */
    readonly: z.boolean().optional(),
  })
  .strict();

/** The limit mechanisms, strongest first. `auto` picks the strongest one that works here. */
export const LIMIT_STRATEGIES = ["systemd-run", "cgroup-v2", "cgroup-v1", "prlimit"] as const;
/** One limit mechanism by name: the `limitStrategy` option takes one of these, or `auto`. */
export type LimitStrategyName = (typeof LIMIT_STRATEGIES)[number];

/** The limits every sandbox gets unless the run or the options say otherwise: the same as docker's and podman's. */
export const DEFAULT_LIMITS = { memoryMb: 4096, pids: 1024 } as const;

/**
 * Options of the `bwrap` sandbox, as a strict zod schema (an unknown key is an error): the bwrap binary,
 * what the sandbox may read of the host, extra mounts, seccomp, resource-limit defaults and mechanism.
 */
export const bwrapOptions = z
  .object({
    /** The bwrap binary: a name looked up on PATH, or an absolute path. */
    bwrapPath: z.string().min(1).default("bwrap"),
    /**
     * `minimal`: only system folders, the workspace, the git metadata, HOME and explicit mounts are
     * visible. `host-readonly`: the whole host read-only (`--ro-bind / /`) minus `denyRead`.
     */
    readPolicy: z.enum(["minimal", "host-readonly"]).default("minimal"),
    /** Extra host paths to hide (on top of the built-in list: HOMEs, /run, shadow files, ssh host keys). */
    denyRead: z.array(z.string()).default([]),
    /** Mounts added to every sandbox, on top of the run's. */
    mounts: z.array(mount).default([]),
    /** `--new-session`: the sandbox cannot push keystrokes into the caller's terminal (TIOCSTI). */
    newSession: z.boolean().default(true),
    /** `--die-with-parent`: the sandbox dies when corral does. */
    dieWithParent: z.boolean().default(true),
    /** Namespaces to unshare. `cgroup` is tried and skipped where the kernel lacks it. */
    namespaces: z
      .object({
        user: z.boolean().default(true),
        pid: z.boolean().default(true),
        ipc: z.boolean().default(true),
        uts: z.boolean().default(true),
        cgroup: z.boolean().default(true),
      })
      .strict()
      .default({ user: true, pid: true, ipc: true, uts: true, cgroup: true }),
    /** `--cap-drop ALL`: no capabilities inside, even when corral runs as root. */
    dropCapabilities: z.boolean().default(true),
    /**
     * The default seccomp filter: no new user namespaces, no mount, keyrings, bpf, perf, userfaultfd,
     * kexec or kernel modules, no TIOCSTI/TIOCLINUX (see docs/sandbox-bwrap.md). `false` runs without it.
     */
    seccomp: z.boolean().default(true),
    /** Mount the workspace's own `.git/config` and `.git/hooks` read-only (agents must not plant hooks). */
    protectGitConfig: z.boolean().default(true),
    /**
     * Defaults for the limits a run does not set (the container sandboxes' defaults), or `false` for
     * none. A default is put in force only by a cgroup (systemd, cgroup v2 or v1); where none can be had
     * it is not enforced and `check()` says so, while a limit the run asks for still fails closed.
     */
    memoryMb: z.union([z.number().int().positive(), z.literal(false)]).default(DEFAULT_LIMITS.memoryMb),
    pids: z.union([z.number().int().positive(), z.literal(false)]).default(DEFAULT_LIMITS.pids),
    /** Which mechanism enforces `limits`; `auto` takes the strongest that works. */
    limitStrategy: z.enum(["auto", ...LIMIT_STRATEGIES]).default("auto"),
    /** Run even when some requested limit cannot be enforced here (the handle reports which). */
    bestEffortLimits: z.boolean().default(false),
    /** Extra bwrap arguments, inserted before the command (an escape hatch; you own their safety). */
    extraArgs: z.array(z.string()).default([]),
  })
  .strict();

/** The `bwrap` sandbox's options after validation, every default filled in. */
export type BwrapOptions = z.output<typeof bwrapOptions>;
/** The `bwrap` sandbox's options as a user writes them (in `bwrap({...})` or corral.config.*): every key optional. */
export type BwrapOptionsInput = z.input<typeof bwrapOptions>;

/** The default limits the options give (the run's own limits win over them). */
export function defaultLimits(options: Pick<BwrapOptions, "memoryMb" | "pids">): { memoryMb?: number; pids?: number } {
  return { ...(options.memoryMb === false ? {} : { memoryMb: options.memoryMb }), ...(options.pids === false ? {} : { pids: options.pids }) };
}
