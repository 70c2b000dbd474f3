/** Whether a plugin can work on this machine, and if not, why and how to fix it. */
export type Availability =
  | { available: true; detail?: string }
  /** `code`: the stable error code a run fails with (e.g. `E_SANDBOX_IMAGE_MISSING`); default `E_SANDBOX_UNAVAILABLE`. */
  | { available: false; reason: string; hint?: string; code?: string };

/** A host path made visible inside the sandbox. */
export interface Mount {
  /** Host path (absolute once resolved; `~` and relative paths are resolved by the sandbox plugin). */
  host: string;
  /** Path inside the sandbox; defaults to the host path. */
  sandbox?: string;
  /** Defaults to true: mounts are read-only unless asked otherwise. */
  readonly?: boolean;
}

/**
 * The network a sandbox gives its commands. `host`: the host's, loopback included. `none`: only a
 * loopback of their own. `proxy`: only a loopback of their own, on which `ports.http` and
 * `ports.socks` lead to corral's egress proxy listening on the host's unix socket `socket` — their
 * only way out (the run's allowlist is enforced there). `bridge`: the container engine's bridge.
 */
export type SandboxNetwork = "host" | "none" | "bridge" | ProxyNetwork;

/** `proxy` mode: where the egress proxy listens on the host, and the loopback ports that lead to it inside. */
export interface ProxyNetwork {
  mode: "proxy";
  socket: string;
  ports: { http: number; socks: number };
}

export type SandboxNetworkMode = "host" | "none" | "bridge" | "proxy";

export function networkMode(network: SandboxNetwork | undefined): SandboxNetworkMode {
  if (!network) return "host";
  return typeof network === "string" ? network : network.mode;
}

export interface ResourceLimits {
  memoryMb?: number;
  pids?: number;
  /** 100 = one full core. */
  cpuPercent?: number;
  /** Hard wall-clock limit for the whole sandbox. */
  wallSeconds?: number;
}

/**
 * A mount the isolation needs for the run's git data. Unlike a user's `Mount`, every field is
 * explicit: the sandbox path may differ from the host path (a run's private git dir is shown where
 * the workspace's `.git` points), and a file may be mounted over a file.
 */
export interface GitMount {
  /** Absolute host path; it exists when the isolation hands it out. */
  host: string;
  /** Absolute path inside the sandbox. */
  sandbox: string;
  readonly: boolean;
}

/**
 * `gitMounts` in the order a sandbox MUST apply them: after all of its other mounts (so none can
 * uncover a read-only git path), parents before children by sandbox path, so the deeper entry wins
 * both ways (a read-only file inside a writable folder, a writable folder inside a read-only one).
 */
export function orderGitMounts(mounts: readonly GitMount[]): GitMount[] {
  const depth = (path: string) => path.split("/").filter(Boolean).length;
  return [...mounts].sort((a, b) => depth(a.sandbox) - depth(b.sandbox) || a.sandbox.localeCompare(b.sandbox));
}

/** What a run asks of its sandbox. One sandbox lives for the whole run. */
export interface SandboxSpec {
  runId: string;
  /** Run name, for labels and process titles. */
  name?: string;
  /** The workspace root (read-write) and the agent's working directory inside it. */
  workspace: { path: string; cwd: string };
  /**
   * The run's git data, from the isolation: the sandbox MUST mount every entry exactly as given
   * (in `orderGitMounts` order, after its other mounts) or refuse to start. These mounts are the
   * repository-integrity boundary: the agent's own git dir is writable, the user's is never.
   */
  gitMounts: GitMount[];
  /** A per-run HOME on the host (mode 0700), mounted read-write at the same path. */
  home: string;
  mounts: Mount[];
  /** The env every exec gets (PATH, HOME, LANG, TERM, credentials). Never the host's whole env. */
  env: Record<string, string>;
  /**
   * Keys of `env` that corral filled in from the orchestrator's own env (PATH, LANG) because the run
   * did not set them. A sandbox with its own filesystem (a container image) should keep its own values.
   */
  inheritedEnv?: string[];
  network: SandboxNetwork;
  limits: ResourceLimits;
}

export interface ExecOptions {
  /** Working directory inside the sandbox; defaults to the workspace cwd. */
  cwd?: string;
  /** Added to (and overriding) the spec's env for this exec only. */
  env?: Record<string, string>;
  /** Written to the command's stdin, then closed. Without it stdin is /dev/null. */
  stdin?: string;
  signal?: AbortSignal;
  timeoutMs?: number;
  /** Called for every output line as it arrives, in order per stream. */
  onLine?: (line: string, stream: "stdout" | "stderr") => void;
}

export interface ExecResult {
  /** null when the process was killed by a signal. */
  exitCode: number | null;
  signal: string | null;
  timedOut: boolean;
  aborted: boolean;
  durationMs?: number;
}

/** A live sandbox. `close()` is idempotent; `await using` closes it too. */
export interface SandboxHandle extends AsyncDisposable {
  readonly id: string;
  exec(argv: readonly string[], options?: ExecOptions): Promise<ExecResult>;
  close(): Promise<void>;
}

/** What a sandbox can do, declared so the run loop and isolations need not guess from its name. */
export interface SandboxCapabilities {
  /**
   * `isolated` (the default): the agent sees only what the spec mounts, and the sandbox applies the
   * git mounts exactly. `host`: the agent sees the host as it is (the `host` sandbox); isolations then
   * hand out the checkout as it is, since no git dir of the run's own could be shown in its place.
   */
  filesystem: "isolated" | "host";
  /**
   * The network modes it enforces on this machine; a run asking for another fails before it starts.
   * Default `["host", "none"]`. With `proxy` here, a run without a network policy gets the allowlist.
   */
  network?: SandboxNetworkMode[];
  /** Why `proxy` is missing from `network` on this machine (a tool or a privilege), and the fix: the run says so. */
  proxyUnavailable?: { reason: string; hint: string };
  /**
   * Set when host programs run inside once their files are mounted at their host paths (the sandbox
   * shares the host's system folders, `shared`): the run then shows the agent's program read-only.
   */
  hostPrograms?: { shared: readonly string[] };
}

/** A sandbox provider: a plugin instance with its options applied. */
export interface Sandbox {
  readonly name: string;
  /** Defaults to `{ filesystem: "isolated" }`. */
  readonly capabilities?: SandboxCapabilities;
  check(): Promise<Availability>;
  create(spec: SandboxSpec): Promise<SandboxHandle>;
}
