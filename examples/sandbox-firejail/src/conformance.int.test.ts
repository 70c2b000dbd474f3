import { describeSandboxConformance } from "@corral/core/testing";
import { firejailSandbox } from "./index.js";

// firejail enforces the read-only host, network "none" and memory (as an address-space rlimit).
// It cannot limit pids per sandbox, so it does not claim that (and refuses limits.pids).
describeSandboxConformance("firejail", () => firejailSandbox.create(firejailSandbox.configure({}).options), {
  security: { writeOutside: true, networkNone: true, hostLoopback: true, wallClock: true, limits: { memory: true } },
});
