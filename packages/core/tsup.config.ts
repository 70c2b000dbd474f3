import { packageBuild } from "../../tooling/tsup.preset.ts";

export default packageBuild(["src/index.ts", "src/plugin-kit.ts", "src/testing/index.ts"], { external: ["vitest"] });
