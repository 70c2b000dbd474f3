import { describeSandboxConformance } from "@corral/core/testing";
import { createBwrapSandbox } from "./index.js";

describeSandboxConformance("bwrap", () => createBwrapSandbox(), {
  security: { writeOutside: true, networkNone: true, hostLoopback: true, egress: true, limits: { pids: true, memory: true } },
});

describeSandboxConformance("bwrap (host-readonly)", () => createBwrapSandbox({ readPolicy: "host-readonly" }), {
  security: { writeOutside: true, networkNone: true, hostLoopback: true, egress: true },
});
