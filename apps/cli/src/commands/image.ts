import { resolve } from "node:path";
import { git, installCommand, isConfigured, spawnStreaming, SandboxError, UsageError } from "@corral/core";
import type { BuildImageOptions } from "@corral/core/container";
import { loadConfig } from "corral";
import { importInstalled } from "corral/internal";
import { keyValues, parseFlags } from "../args.js";
import { IMAGE_HELP } from "../help.js";
import { EXIT, type CliIO } from "../io.js";

const PACKAGES = { docker: "@corral/sandbox-docker", podman: "@corral/sandbox-podman" } as const;
type Engine = keyof typeof PACKAGES;

/**
 * `corral image build|remove`: the image a docker or podman run uses, built through that plugin's
 * `buildImage` (output streamed to stderr; the host uid/gid as build args).
 */
export default async function image(argv: string[], io: CliIO): Promise<number> {
  const { values, positionals } = parseFlags(
    "image",
    argv,
    {
      sandbox: { type: "string" },
      file: { type: "string" },
      tag: { type: "string" },
      "build-arg": { type: "string", multiple: true },
      context: { type: "string" },
      cwd: { type: "string" },
      config: { type: "string" },
      help: { type: "boolean", short: "h" },
    },
    true,
  );
  if (values.help) {
    io.stdout.write(IMAGE_HELP);
    return EXIT.ok;
  }
  const [action, ...extra] = positionals;
  if (action !== "build" && action !== "remove") throw new UsageError(action ? `Unknown action "${action}" for corral image.` : "corral image needs an action: build or remove.", { hint: "e.g. corral image build --sandbox docker" });
  if (extra.length) throw new UsageError(`Unexpected argument "${extra[0]}".`, { hint: "See `corral image --help`." });
  if (action === "remove" && (values.file || values["build-arg"] || values.context)) throw new UsageError("--file, --build-arg and --context go with `corral image build`.", { hint: "corral image remove --sandbox docker [--tag TAG]" });

  const cwd = resolve(io.cwd, values.cwd ?? ".");
  const { config } = await loadConfig({ cwd, ...(values.config ? { file: resolve(io.cwd, values.config) } : {}) });
  const configured = sandboxOfConfig(config.sandbox);
  const engine = values.sandbox ?? configured.name;
  if (engine !== "docker" && engine !== "podman") {
    throw new UsageError(engine ? `corral image works with the docker and podman sandboxes, not "${engine}".` : "Which engine? No --sandbox was given and the config names no container sandbox.", { hint: "Pass --sandbox docker or --sandbox podman." });
  }
  const top = await git(["rev-parse", "--show-toplevel"], { cwd, allowFailure: true }).catch(() => undefined);
  const repoRoot = top?.exitCode === 0 ? top.stdout : cwd;
  const { DEFAULT_IMAGE } = await import("@corral/core/container");
  // The tag a run of this config looks for: the flag's, the config's, else the sandbox's default.
  const tag = values.tag ?? (configured.name === engine ? configured.image : undefined) ?? DEFAULT_IMAGE;

  if (action === "remove") return removeImage(engine, tag, io);

  const plugin = await importInstalled<{ buildImage(options: BuildImageOptions): Promise<{ tag: string }> }>(PACKAGES[engine], cwd);
  if (!plugin) throw new UsageError(`Building a ${engine} image needs the package ${PACKAGES[engine]}, which is not installed.`, { code: "E_PLUGIN_NOT_FOUND", hint: `Install it: ${installCommand(PACKAGES[engine])}` });
  const buildArgs = keyValues("build-arg", values["build-arg"]);
  const controller = new AbortController();
  const stop = () => controller.abort();
  process.once("SIGINT", stop);
  try {
    io.stderr.write(`building ${tag} with ${engine}…\n`);
    await plugin.buildImage({
      contextDir: resolve(io.cwd, values.context ?? repoRoot),
      ...(values.file ? { file: resolve(io.cwd, values.file) } : {}),
      tag,
      buildArgs,
      onLine: (line) => io.stderr.write(`${line}\n`),
      signal: controller.signal,
    });
  } finally {
    process.off("SIGINT", stop);
  }
  io.stderr.write(`built ${tag}\n`);
  io.stdout.write(`${tag}\n`);
  return EXIT.ok;
}

/** The sandbox named in the config, and its image option if it sets one. */
function sandboxOfConfig(ref: unknown): { name?: string; image?: string } {
  if (typeof ref === "string") return { name: ref };
  if (isConfigured(ref)) return { name: ref.plugin.meta.name, ...imageOf(ref.options) };
  if (ref && typeof ref === "object" && "name" in ref) return { name: String(ref.name), ...imageOf((ref as { options?: unknown }).options) };
  return {};
}

const imageOf = (options: unknown): { image?: string } => (options && typeof options === "object" && "image" in options && typeof options.image === "string" ? { image: options.image } : {});

/** Removes the image with the engine's CLI (the plugins offer no removal API yet). */
async function removeImage(engine: Engine, tag: string, io: CliIO): Promise<number> {
  const env = Object.fromEntries(Object.entries(io.env).filter((e): e is [string, string] => e[1] !== undefined));
  const output: string[] = [];
  const result = await spawnStreaming([engine, "image", "rm", tag], { env, onLine: (line) => output.push(line) });
  if (result.exitCode === 127) throw new UsageError(`Removing an image needs the ${engine} command, which was not found.`, { hint: `Install ${engine}, or remove ${tag} another way.` });
  if (result.exitCode !== 0) {
    throw new SandboxError(`${engine} could not remove the image ${tag}: ${output.join(" ").trim()}`, { code: "E_IMAGE_REMOVE", hint: `\`${engine} images\` lists the images; a running container may still use it.` });
  }
  io.stderr.write(`removed ${tag}\n`);
  return EXIT.ok;
}
