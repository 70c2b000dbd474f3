import { packageBuild } from "../../tooling/tsup.preset.ts";

export default packageBuild(["src/index.ts", "src/testing/index.ts", "src/container/index.ts"], { external: ["vitest"] });
