/**
 * A build that fails can still end "successfully" at the API level (docker's build endpoint
 * answers 200 and puts the error in the stream). So corral scans the build output itself.
 */

/** A line of a text build log (podman, `docker build`) that means the build failed, or undefined. */
export function buildLineError(line: string): string | undefined {
  const text = line.trim();
  if (/^(Error|ERROR)(:|\b)/.test(text)) return text;
  if (/^error building at STEP\b/i.test(text)) return text;
  if (/^The command .* returned a non-zero code: \d+/.test(text)) return text;
  return undefined;
}

/** The failure in one docker JSON build message (`{"error": …}` / `{"errorDetail": …}`), or undefined. */
export function buildMessageError(message: { error?: unknown; errorDetail?: { message?: unknown } }): string | undefined {
  if (typeof message.error === "string" && message.error) return message.error.trim();
  if (message.errorDetail && typeof message.errorDetail.message === "string") return message.errorDetail.message.trim();
  return undefined;
}

/** The build args corral passes by default: the host uid/gid, so the image's `agent` user owns what it writes. */
export function hostBuildArgs(): Record<string, string> {
  if (typeof process.getuid !== "function" || typeof process.getgid !== "function") return {};
  return { AGENT_UID: String(process.getuid()), AGENT_GID: String(process.getgid()) };
}

/**
 * The one default image: what a docker or podman run uses and `corral image build` builds when
 * neither a flag nor the config names one, so a build is always followed by a run that finds it
 * (docs/adr/0406-one-default-image-tag.md).
 */
export const DEFAULT_IMAGE = "corral-agent:latest";
