import { createHash } from "node:crypto";
import { UnsafePathError } from "./errors.js";

/** Longest slug kept as is; longer names are cut and end in a hash of the full name. */
export const MAX_SLUG_LENGTH = 64;

/**
 * A folder and branch-component name made from a run name: only `[A-Za-z0-9._-]`, no `..`, no
 * leading dash or dot, no trailing dot or `.lock` (git refuses those in refs). Long names are
 * shortened and suffixed with a hash so two long names stay distinct. Throws UnsafePathError
 * when nothing usable is left.
 */
export function slugify(name: string): string {
  let slug = name
    .normalize("NFKD")
    .replace(/[^A-Za-z0-9._-]+/g, "-") // separators, control characters, spaces, non-ASCII
    .replace(/\.{2,}/g, ".") // no ".."
    .replace(/-{2,}/g, "-")
    .replace(/^[-.]+/, "") // no leading dash (option injection) or dot (hidden, ".", "..")
    .replace(/(\.lock)+$/i, "")
    .replace(/[-.]+$/, "");
  if (!slug) {
    throw new UnsafePathError(`The name ${JSON.stringify(name)} has no characters usable in a folder or branch name.`);
  }
  if (slug.length > MAX_SLUG_LENGTH) {
    const hash = createHash("sha256").update(name).digest("hex").slice(0, 8);
    slug = `${slug.slice(0, MAX_SLUG_LENGTH - 9).replace(/[-.]+$/, "")}-${hash}`;
  }
  return slug;
}

/** The n-th candidate for a taken slug: `name`, `name-2`, `name-3`… (kept within the length limit). */
export function withSuffix(slug: string, n: number): string {
  if (n <= 1) return slug;
  const suffix = `-${n}`;
  return `${slug.slice(0, MAX_SLUG_LENGTH - suffix.length).replace(/[-.]+$/, "")}${suffix}`;
}

/** True when `slug` is already safe as a single path component and branch component. */
export function isSafeSlug(slug: string): boolean {
  return slug.length > 0 && slug.length <= MAX_SLUG_LENGTH && /^[A-Za-z0-9_][A-Za-z0-9._-]*$/.test(slug) && !slug.includes("..") && !/(\.lock|[.-])$/i.test(slug);
}
