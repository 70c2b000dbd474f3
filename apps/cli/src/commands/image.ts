import { resolve } from "node:path";
import { UsageError, type Sandbox } from "@corral/core";
import { git } from "@corral/core/plugin-kit";
import { loadConfig } from "corral";
import { PluginLoader } from "corral/internal";
import { keyValues, parseFlags } from "../args.js";
import { configuredName, pluginInstance, pluginsWith } from "../capabilities.js";
import { IMAGE_HELP } from "../help.js";
import { EXIT, type CliIO } from "../io.js";

/**
 * `corral image build|remove`: the image a container run uses, built through the sandbox plugin's
 * `buildImage` capability (output streamed to stderr; the host uid/gid as build args) and removed
 * through its `removeImage`. Any installed sandbox that has them takes part, a third party's too.
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

  const buildArgs = keyValues("build-arg", values["build-arg"]);
  const cwd = resolve(io.cwd, values.cwd ?? ".");
  const { config } = await loadConfig({ cwd, ...(values.config ? { file: resolve(io.cwd, values.config) } : {}) });
  const name = values.sandbox ?? configuredName(config.sandbox);
  if (!name) throw new UsageError("Which sandbox? No --sandbox was given and the config names no sandbox.", { hint: "Pass --sandbox docker or --sandbox podman (or another installed sandbox that builds images)." });
  const loader = new PluginLoader({ cwd, ...(config.plugins ? { plugins: config.plugins } : {}) });
  // The config's options when it names this sandbox: its image is the tag a run of this config looks for.
  const sandbox = await pluginInstance(loader, "sandbox", name, config.sandbox);
  const capability = action === "build" ? "buildImage" : "removeImage";
  if (typeof sandbox[capability] !== "function") {
    const able = (await pluginsWith(loader, "sandbox", capability)).map((p) => p.name);
    throw new UsageError(`corral image ${action} works with sandboxes that ${action} images, not "${name}".`, {
      code: "E_PLUGIN_CAPABILITY",
      hint: able.length ? `Pass --sandbox ${able.join(" or --sandbox ")}.` : "No installed sandbox does; the docker and podman plugins do (docs/sandbox-containers.md).",
    });
  }
  const tag = values.tag ?? sandbox.image;
  if (!tag) throw new UsageError(`The ${name} sandbox names no image of its own.`, { hint: "Pass --tag." });

  if (action === "remove") {
    await (sandbox as Required<Pick<Sandbox, "removeImage">>).removeImage(tag);
    io.stderr.write(`removed ${tag}\n`);
    return EXIT.ok;
  }
  const top = await git(["rev-parse", "--show-toplevel"], { cwd, allowFailure: true }).catch(() => undefined);
  const repoRoot = top?.exitCode === 0 ? top.stdout : cwd;
  const controller = new AbortController();
  const stop = () => controller.abort();
  process.once("SIGINT", stop);
  try {
    io.stderr.write(`building ${tag} with ${name}…\n`);
    await (sandbox as Required<Pick<Sandbox, "buildImage">>).buildImage({
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
