import { describeSandboxConformance } from "@corral/core/testing";
import { bwrapSandbox } from "./index.js";

describeSandboxConformance("bwrap", () => bwrapSandbox.create(bwrapSandbox.configure({}).options), {
  security: { writeOutside: true, networkNone: true, hostLoopback: true, limits: { pids: true, memory: true } },
});

describeSandboxConformance("bwrap (host-readonly)", () => bwrapSandbox.create(bwrapSandbox.configure({ readPolicy: "host-readonly" }).options), {
  security: { writeOutside: true, networkNone: true, hostLoopback: true },
});
