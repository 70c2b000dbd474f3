import { describe, expect, it } from "vitest";
import { UnsafePathError } from "./errors.js";
import { MAX_SLUG_LENGTH, isSafeSlug, slugify, withSuffix } from "./slug.js";

describe("slugify", () => {
  it.each([
    ["fix-login", "fix-login"],
    ["Fix Login Bug", "Fix-Login-Bug"],
    ["../../etc/passwd", "etc-passwd"],
    ["a/b\\c", "a-b-c"],
    ["-rf", "rf"],
    ["--upload-pack=evil", "upload-pack-evil"],
    ["..hidden", "hidden"],
    [".git", "git"],
    ["a..b", "a.b"],
    ["tab\there\nnew\x00null\x1b[31m", "tab-here-new-null-31m"],
    ["feature.lock", "feature"],
    [".lock", "lock"],
    ["name.", "name"],
    ["café", "cafe"],
    ["run@{1}", "run-1"],
  ])("%j becomes %j", (input, expected) => {
    const slug = slugify(input);
    expect(slug).toBe(expected);
    expect(isSafeSlug(slug)).toBe(true);
  });

  it.each(["", "/", "..", ".", "../..", "---", "\x00\x01", "///", "日本語", " "])("refuses %j: nothing usable is left", (input) => {
    expect(() => slugify(input)).toThrow(UnsafePathError);
  });

  it("shortens long names with a hash that keeps them distinct", () => {
    const a = slugify(`${"x".repeat(100)}-a`);
    const b = slugify(`${"x".repeat(100)}-b`);
    expect(a.length).toBeLessThanOrEqual(MAX_SLUG_LENGTH);
    expect(a).not.toBe(b);
    expect(a).toMatch(/^x+-[0-9a-f]{8}$/);
    expect(isSafeSlug(a)).toBe(true);
  });

  it("suffixes stay within the limit", () => {
    expect(withSuffix("name", 1)).toBe("name");
    expect(withSuffix("name", 3)).toBe("name-3");
    const long = slugify("y".repeat(200));
    expect(withSuffix(long, 12).length).toBeLessThanOrEqual(MAX_SLUG_LENGTH);
    expect(withSuffix(long, 12)).toMatch(/-12$/);
  });
});
