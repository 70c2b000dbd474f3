import { packageBuild } from "../../tooling/tsup.preset.ts";

export default packageBuild(["src/index.ts"]);
