import { describe, expect, it } from "vitest";
import { compareUrlOf } from "./pr.js";

describe("compareUrlOf", () => {
  it("makes the compare page of https, scp-like ssh and ssh:// remotes", () => {
    expect(compareUrlOf("https://github.com/acme/app.git", "main", "corral/fix")).toBe("https://github.com/acme/app/compare/main...corral/fix?expand=1");
    expect(compareUrlOf("https://user@github.com/acme/app", "main", "corral/fix")).toBe("https://github.com/acme/app/compare/main...corral/fix?expand=1");
    expect(compareUrlOf("git@github.com:acme/app.git", "main", "corral/fix")).toBe("https://github.com/acme/app/compare/main...corral/fix?expand=1");
    expect(compareUrlOf("ssh://git@gitlab.example.com:2222/group/sub/app.git", "dev", "corral/a b")).toBe("https://gitlab.example.com/group/sub/app/compare/dev...corral/a%20b?expand=1");
  });

  it("gives none for a local path, a file:// URL, or a URL with characters a link should not carry", () => {
    expect(compareUrlOf("/srv/git/app.git", "main", "corral/fix")).toBeUndefined();
    expect(compareUrlOf("file:///srv/git/app.git", "main", "corral/fix")).toBeUndefined();
    expect(compareUrlOf("https://github.com/acme/app\u001b]8;;x", "main", "corral/fix")).toBeUndefined();
  });
});
