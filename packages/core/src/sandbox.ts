import type { ErrorCode } from "./error-codes.js";
import { homedir } from "node:os";
import { resolve } from "node:path";

/** Whether a plugin can work on this machine, and if not, why and how to fix it. */
export type Availability =
  | { available: true; detail?: string }
  /** `code`: the stable error code a run fails with (e.g. `E_SANDBOX_IMAGE_MISSING`); default `E_SANDBOX_UNAVAILABLE`. */
  | { available: false; reason: string; hint?: string; code?: ErrorCode };

/** A host path made visible inside the sandbox. */
export interface Mount {
  /** Host path (absolute once resolved; `~` and relative paths are resolved by the sandbox plugin). */
  host: string;
  /** Path inside the sandbox; defaults to the host path. */
  sandbox?: string;
  /** Defaults to true: mounts are read-only unless asked otherwise. */
  readonly?: boolean;
}

/** A mount's path as the host sees it: `~` is the host user's home; a relative path is relative to `base` (the workspace). */
export function resolveHostPath(path: string, base: string): string {
  if (path === "~") return homedir();
  if (path.startsWith("~/")) return resolve(homedir(), path.slice(2));
  return resolve(base, path);
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
  /** Tells this apart from the string modes. */
  mode: "proxy";
  /** The host unix socket corral's egress proxy listens on; the sandbox MUST make it reachable only through `ports`. */
  socket: string;
  /** Loopback ports inside the sandbox that lead to the proxy: HTTP (CONNECT) and SOCKS5. */
  ports: { http: number; socks: number };
}

/** The kind of a `SandboxNetwork`, without the proxy's details: what `SandboxCapabilities.network` lists. */
export type SandboxNetworkMode = "host" | "none" | "bridge" | "proxy";

/** The mode of a spec's network (`host` when none is given). */
export function networkMode(network: SandboxNetwork | undefined): SandboxNetworkMode {
  if (!network) return "host";
  return typeof network === "string" ? network : network.mode;
}

/**
 * Resource limits for the whole sandbox. A sandbox MUST enforce every limit that is set, or refuse
 * to start (`SandboxError`, `E_SANDBOX_UNSUPPORTED`); it never runs with less than was asked.
 */
export interface ResourceLimits {
  /** Memory for everything the sandbox runs, in MiB. */
  memoryMb?: number;
  /** Most processes (and threads) alive at once. */
  pids?: number;
  /** 100 = one full core. */
  cpuPercent?: number;
  /** Hard wall-clock limit for the whole sandbox, in seconds: once over, the running exec is ended and further execs fail (`E_WALL_CLOCK`). */
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
  /** Read-only inside the sandbox: the sandbox MUST make it so (writes fail), or refuse to start. */
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
  /** The run's id: label everything the sandbox makes with it (`reap` and `corral clean` find a run's leftovers by it). */
  runId: string;
  /** Run name, for labels and process titles. */
  name?: string;
  /**
   * The workspace root (read-write) and the agent's working directory inside it. With `copy` set
   * (a copied workspace, docs/copied-workspaces.md) both are sandbox paths under the sandbox's
   * `capabilities.copiedWorkspace.root`: the sandbox MUST mount nothing of the host there and MUST
   * make that root a private, writable, empty folder of the sandbox's own, which the run fills with
   * `putArchive` and reads back with `getArchive`; `gitMounts` is then empty.
   */
  workspace: { path: string; cwd: string; copy?: boolean };
  /**
   * The run's git data, from the isolation: the sandbox MUST mount every entry exactly as given
   * (in `orderGitMounts` order, after its other mounts) or refuse to start. These mounts are the
   * repository-integrity boundary: the agent's own git dir is writable, the user's is never.
   */
  gitMounts: GitMount[];
  /** A per-run HOME on the host (mode 0700), mounted read-write at the same path. */
  home: string;
  /** The user's extra mounts (resolved with `resolveHostPath`); read-only unless `readonly: false`. */
  mounts: Mount[];
  /** The env every exec gets (PATH, HOME, LANG, TERM, credentials). Never the host's whole env. */
  env: Record<string, string>;
  /**
   * Keys of `env` that corral filled in from the orchestrator's own env (PATH, LANG) because the run
   * did not set them. A sandbox with its own filesystem (a container image) should keep its own values.
   */
  inheritedEnv?: string[];
  /** The network the commands get. A mode the sandbox cannot enforce here MUST make `create` fail. */
  network: SandboxNetwork;
  /** Limits to enforce (or fail `create`); `{}` for none. */
  limits: ResourceLimits;
}

/** How one command runs inside a live sandbox. */
export interface ExecOptions {
  /** Working directory inside the sandbox; defaults to the workspace cwd. */
  cwd?: string;
  /** Added to (and overriding) the spec's env for this exec only. */
  env?: Record<string, string>;
  /** Written to the command's stdin, then closed. Without it stdin is /dev/null. */
  stdin?: string;
  /** Aborting it MUST kill everything the command started; the result then says `aborted`. */
  signal?: AbortSignal;
  /** Kill everything the command started after this many milliseconds; the result then says `timedOut`. */
  timeoutMs?: number;
  /** Called for every output line as it arrives, in order per stream. */
  onLine?: (line: string, stream: "stdout" | "stderr") => void;
  /**
   * Optional, for a caller that takes output in blocks (the run loop does, ADR 0720): called instead
   * of `onLine` with one or more complete lines of one stream, each ending in "\n", as they arrive
   * (typically every line completed by one read). The lines are exactly the ones `onLine` would get,
   * cut at `maxLineChars` with `CUT_MARKER` and without a `\r` before their newline; a last line
   * without a newline ends in one in its block. A sandbox that supports it MUST, when it is given,
   * deliver every line of the exec through it (none through `onLine`), in order per stream:
   * `LineSplitter.blocks` does exactly that, and `spawnStreaming` uses it. A sandbox written before
   * it ignores it and calls `onLine`, so a caller that gives `onLines` MUST give `onLine` too.
   */
  onLines?: (block: string, stream: "stdout" | "stderr") => void;
  /**
   * Characters a line may have (default 8 MiB, `MAX_LINE_CHARS`). A longer line MUST reach `onLine`
   * cut at this length and ending in `CUT_MARKER` (the rest of it, up to its newline, is dropped), so
   * memory stays bounded whatever the command prints: `LineSplitter` does exactly that.
   */
  maxLineChars?: number;
}

/** How `SandboxHandle.attach` connects a command to the caller's terminal. */
export interface AttachOptions {
  /** Working directory inside the sandbox; defaults to the workspace cwd. */
  cwd?: string;
  /** Added to (and overriding) the spec's env, as for `exec`. */
  env?: Record<string, string>;
  /** Aborting it MUST kill everything the command started; the result then says `aborted`. */
  signal?: AbortSignal;
  /** Give the command a terminal: a pty where the engine makes one (`exec -it`), the caller's own otherwise. Default: when the caller's stdin is one. */
  tty?: boolean;
}

/** How a command inside the sandbox ended. A non-zero exit is a result, not an error: `exec` throws only when it could not run the command at all. */
export interface ExecResult {
  /** null when the process was killed by a signal. */
  exitCode: number | null;
  /** The signal that killed it (`SIGKILL`), or null. */
  signal: string | null;
  /** It was killed because `timeoutMs` passed. */
  timedOut: boolean;
  /** It was killed because `signal` aborted. */
  aborted: boolean;
  /** How long it ran. */
  durationMs?: number;
}

/**
 * A live sandbox, made by `Sandbox.create` for one run; every iteration is one `exec`.
 * `close()` is idempotent; `await using` closes it too.
 */
export interface SandboxHandle extends AsyncDisposable {
  /** Names this sandbox (a container id, a process group): shown in events and logs. */
  readonly id: string;
  /**
   * Runs `argv` (never a shell string) inside the sandbox. It MUST give the command exactly
   * `spec.env` + `options.env` (nothing of the host's), honour `cwd`, `stdin`, `signal` and
   * `timeoutMs`, stream lines to `onLine` (or in blocks to `onLines`, when given and supported) in
   * order per stream as they come, and on abort, timeout or
   * `close()` kill everything the command started. After `close()` it throws `E_SANDBOX_CLOSED`.
   */
  exec(argv: readonly string[], options?: ExecOptions): Promise<ExecResult>;
  /**
   * Optional (declared as `capabilities.attach`): runs `argv` with the caller's stdin, stdout and
   * stderr connected (a human at a terminal: `corral shell`, `corral run --interactive`). It MUST
   * run it exactly as `exec` would — the same env (`spec.env` + `options.env`, nothing of the
   * host's), mounts, network and limits — and differ only in the terminal; abort, wall clock and
   * `close()` end it as they end an exec. The terminal given MUST NOT let the command push input
   * into the caller's terminal (TIOCSTI): a pty of the engine's, or a filter that refuses it.
   */
  attach?(argv: readonly string[], options?: AttachOptions): Promise<ExecResult>;
  /** Ends every running exec and removes what the sandbox made. Idempotent; it MUST NOT throw on a second call. */
  close(): Promise<void>;
  /**
   * Optional (with `capabilities.copiedWorkspace`): unpacks the tar archive `tar` into the folder
   * `path` inside the sandbox (under the copied-workspace root), as the sandbox's own files.
   */
  putArchive?(tar: AsyncIterable<Uint8Array>, path: string): Promise<void>;
  /**
   * Optional (with `capabilities.copiedWorkspace`): the file or folder `path` inside the sandbox as
   * a tar stream, its entries named from the path's last component (`getArchive("/w/.git")` gives
   * `.git/…`), as `docker cp` does. Everything in it is hostile: the caller reads it with core's
   * tar reader (no links followed, no `..`, size caps). It MUST NOT follow a symlink on the host.
   */
  getArchive?(path: string): Promise<AsyncIterable<Uint8Array>>;
}

/** What a sandbox offers for copied workspaces (`SandboxCapabilities.copiedWorkspace`). */
export interface CopiedWorkspaceCapability {
  /**
   * An absolute sandbox path the sandbox makes a private, writable, empty folder of its own (never
   * a host folder the user owns) when `spec.workspace.copy` is set: the run puts the workspace at
   * `<root>/workspace` and its transfer files beside it.
   */
  root: string;
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
  /**
   * Set when the sandbox can run a copied workspace (`run({ workspace: "copy" })`): its handles
   * implement `putArchive` and `getArchive` and honour `spec.workspace.copy`.
   */
  copiedWorkspace?: CopiedWorkspaceCapability;
  /**
   * Where the sandbox's engine runs: `local` (the default; it can mount host paths) or `remote` (it
   * cannot: another machine's engine). `workspace: "auto"` copies the workspace when it is `remote`.
   */
  workspaceLocality?: "local" | "remote";
  /** Its handles have `attach`: a command can be run with the caller's terminal (`corral shell`). */
  attach?: boolean;
}

/** What `Sandbox.reap` takes. */
export interface ReapOptions {
  /** Only this run's leftovers (`corral clean` of one interrupted run). Without it: every run's. */
  runId?: string;
  /** Report what would be removed, removing nothing. */
  dryRun?: boolean;
}

/** One thing a sandbox left behind (a container, a process, a network…) and what `reap` did with it. */
export interface Reaped {
  /** What it is, a word for the user: `container`. */
  kind: string;
  /** The engine's id for it. */
  id: string;
  /** How the user knows it (a container's name). */
  name: string;
  /** The run it belonged to, when known. */
  runId?: string;
  /** `removed`, `would-remove` (dry run), `kept` (its run is alive, or not this host's), `failed` (removal failed; `reason` says why). */
  action: "removed" | "would-remove" | "kept" | "failed";
  /** Why it was judged left behind (or kept), or what failed. */
  reason: string;
}

/** What `Sandbox.reap` found. */
export interface ReapResult {
  /** Everything it found, whatever it did with it. */
  reaped: Reaped[];
}

/** What `Sandbox.buildImage` takes. */
export interface BuildImageOptions {
  /** The build context folder. */
  contextDir: string;
  /** The Dockerfile/Containerfile, relative to contextDir or absolute; the sandbox's default otherwise. */
  file?: string;
  /** The image to make (`name:tag`). */
  tag: string;
  /** Build args on top of the sandbox's own (the host uid/gid for a container image). */
  buildArgs?: Record<string, string>;
  /** Every output line as it comes. */
  onLine?: (line: string) => void;
  /** Stops the build. */
  signal?: AbortSignal;
}

/**
 * A sandbox provider: a plugin instance with its options applied.
 *
 * Beyond `check` and `create`, a sandbox may offer optional capabilities. The CLI finds them on
 * every installed plugin (ours and third parties' alike) and calls them; none is needed to run.
 */
export interface Sandbox {
  /** What users select it by (`--sandbox <name>`); the plugin's name. */
  readonly name: string;
  /** Defaults to `{ filesystem: "isolated" }`. */
  readonly capabilities?: SandboxCapabilities;
  /**
   * Whether it can work on this machine, and if not, why and how to fix it. It should really try
   * (start a probe), not just look for a binary. It MUST NOT throw for "not available": it says so.
   */
  check(): Promise<Availability>;
  /**
   * Starts the run's sandbox. It MUST fail closed: when it cannot enforce something the spec asks
   * for (a limit, a network mode, a mount, a git mount exactly as given) it throws a `SandboxError`
   * rather than run with less isolation.
   */
  create(spec: SandboxSpec): Promise<SandboxHandle>;
  /**
   * Optional: removes what runs left behind when their orchestrator died without closing them
   * (SIGKILL, a crash, a reboot): what `corral clean` calls for an interrupted run of this sandbox.
   * It MUST remove only what corral's runs made, and of those only what belongs to a run that is over
   * (never a live run's, never another host's); with `dryRun` it MUST remove nothing. It reports
   * everything it found, removed or not. On a machine with nothing left it reports nothing and
   * does not throw; it throws (a CorralError) only when it cannot look at all.
   */
  reap?(options?: ReapOptions): Promise<ReapResult>;
  /** The image it runs, when it runs one: what `corral image build|remove` use without `--tag`. */
  readonly image?: string;
  /**
   * Optional: builds the image this sandbox runs from a build context (`corral image build`),
   * streaming every output line to `onLine`. It MUST fail (a CorralError, code `E_IMAGE_BUILD`)
   * when the build failed, even if the engine said otherwise, and MUST stop when `signal` aborts.
   */
  buildImage?(options: BuildImageOptions): Promise<{ tag: string }>;
  /** Optional: removes an image (`corral image remove`); it MUST throw a CorralError (code `E_IMAGE_REMOVE`) when it could not. */
  removeImage?(tag: string): Promise<void>;
}

/** Whether the sandbox gives the agent a filesystem of its own (the default), not the host as it is. */
export function isolatesFilesystem(sandbox: Pick<Sandbox, "capabilities">): boolean {
  return (sandbox.capabilities?.filesystem ?? "isolated") === "isolated";
}
