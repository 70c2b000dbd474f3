/** Whether a plugin can work on this machine, and if not, why and how to fix it. */
export type Availability = { available: true; detail?: string } | { available: false; reason: string; hint?: string };

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
 * Network policy. A string for the common cases; the object form leaves room for later
 * policies (e.g. `{ mode: "allowlist", domains: [...] }`) without breaking existing configs.
 */
export type NetworkPolicy = "host" | "none" | "bridge" | { mode: "host" | "none" | "bridge" };

export function networkMode(policy: NetworkPolicy | undefined): "host" | "none" | "bridge" {
  if (!policy) return "host";
  return typeof policy === "string" ? policy : policy.mode;
}

export interface ResourceLimits {
  memoryMb?: number;
  pids?: number;
  /** 100 = one full core. */
  cpuPercent?: number;
  /** Hard wall-clock limit for the whole sandbox. */
  wallSeconds?: number;
}

/** What a run asks of its sandbox. One sandbox lives for the whole run. */
export interface SandboxSpec {
  runId: string;
  /** Run name, for labels and process titles. */
  name?: string;
  /** The workspace root (read-write) and the agent's working directory inside it. */
  workspace: { path: string; cwd: string };
  /** Git metadata outside the workspace that must be mounted for `git commit` to work. */
  gitMounts: { readWrite: string[]; readOnly: string[] };
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
  network: NetworkPolicy;
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

/** A sandbox provider: a plugin instance with its options applied. */
export interface Sandbox {
  readonly name: string;
  check(): Promise<Availability>;
  create(spec: SandboxSpec): Promise<SandboxHandle>;
}
