import { packageBuild } from "../../tooling/tsup.preset.ts";

// Each command is its own chunk, loaded only when that command runs: `corral --help` stays fast.
export default packageBuild(["src/bin.ts", "src/index.ts"], { dts: { entry: "src/index.ts" } });
