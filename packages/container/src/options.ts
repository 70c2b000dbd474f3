import { z } from "zod";
import { DEFAULT_IMAGE } from "./build.js";

const mountSchema = z
  .object({
    host: z.string().min(1),
    sandbox: z.string().min(1).optional(),
    readonly: z.boolean().optional(),
  })
  .strict();

/**
 * The options both container sandboxes (docker, podman) share. Every hardening default is on
 * and each can be turned off explicitly; the run's `limits` win over the limits given here.
 */
export const containerOptionsShape = {
  /** The image every run uses. It must contain `/bin/sh` (and git for commits); build it with `corral image build`. */
  image: z.string().min(1).default(DEFAULT_IMAGE),
  /** Who commands run as: `host` (the orchestrator's uid:gid, so files stay yours), `image` (the image's USER), or `"uid:gid"`. */
  user: z
    .union([z.literal("host"), z.literal("image"), z.string().regex(/^\d+(:\d+)?$/, 'use "host", "image" or "uid:gid"')])
    .default("host"),
  /** Read-only root filesystem; `/tmp` and HOME stay writable. */
  readOnlyRoot: z.boolean().default(true),
  /** Capabilities to drop (default all) and to add back. */
  capDrop: z.array(z.string()).default(["ALL"]),
  capAdd: z.array(z.string()).default([]),
  /** `no-new-privileges`: setuid binaries cannot raise privileges. */
  noNewPrivileges: z.boolean().default(true),
  /** tmpfs mounts: path → mount options. */
  tmpfs: z.record(z.string(), z.string()).default({ "/tmp": "rw,nosuid,nodev,size=1g" }),
  /** Defaults for limits the run does not set. `memoryMb` also sets swap to the same value (no extra swap). */
  memoryMb: z.number().int().positive().optional().default(4096),
  pids: z.number().int().positive().optional().default(1024),
  /** 100 = one full core; unset = no cpu limit. */
  cpuPercent: z.number().positive().optional(),
  /** Run the engine's init as PID 1, so orphans of the agent are reaped. */
  init: z.boolean().default(true),
  /** Extra mounts on top of the run's (read-only unless `readonly: false`). */
  mounts: z.array(mountSchema).default([]),
  /** Extra labels on the container. */
  labels: z.record(z.string(), z.string()).default({}),
  /** Seconds an engine call (create, start, exec setup, remove) may take before it is an error. */
  engineTimeoutSeconds: z.number().positive().default(60),
  /** Grace between SIGTERM and SIGKILL when an exec is stopped (every process of the agent gets both). */
  killGraceSeconds: z.number().nonnegative().default(2),
  /**
   * Leave what an exec started in the background (a dev server, say) running into the next exec.
   * Off by default: when the last running exec is over, every process it left is killed.
   */
  keepBackgroundProcesses: z.boolean().default(false),
};

/**
 * The shared container options as a strict zod object (an unknown key is an error). A plugin with
 * options of its own extends `containerOptionsShape` instead.
 */
export const containerOptions = z.object(containerOptionsShape).strict();

/** The validated shared container options. */
export type ContainerOptions = z.output<typeof containerOptions>;

/** What users pass: every field optional. */
export type ContainerOptionsInput = z.input<typeof containerOptions>;
