import { describe, expect, it } from "vitest";
import { PromptTemplateError } from "./errors.js";
import { checkPromptArgs, fillTemplate } from "./prompt.js";

describe("prompt templates", () => {
  it("fills {{KEY}} with and without spaces", () => {
    expect(fillTemplate("Fix #{{issue}} on {{ branch }}", { issue: "42", branch: "corral/x" })).toBe("Fix #42 on corral/x");
  });

  it("refuses a placeholder with no value, naming it and the flag", () => {
    expect(() => fillTemplate("Fix {{issue}} and {{other}}", {})).toThrow(PromptTemplateError);
    expect(() => fillTemplate("Fix {{issue}}", {})).toThrow(/\{\{issue\}\}.*no value/);
  });

  it("shell-quotes values inside !`cmd` spans so args cannot inject shell syntax", () => {
    const out = fillTemplate("Title: {{t}}\n!`echo {{t}}`", { t: "x; rm -rf ~" });
    expect(out).toBe("Title: x; rm -rf ~\n!`echo 'x; rm -rf ~'`");
  });

  it("refuses args with an inline prompt", () => {
    expect(() => checkPromptArgs({ a: "1" }, false)).toThrow(/inline prompt/);
  });

  it("refuses args that shadow a built-in", () => {
    expect(() => checkPromptArgs({ branch: "x" }, true)).toThrow(/shadow a built-in/);
    expect(() => checkPromptArgs({ issue: "x" }, true)).not.toThrow();
  });
});
