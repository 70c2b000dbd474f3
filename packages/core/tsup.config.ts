import { packageBuild } from "../../tooling/tsup.preset.ts";

// zod is bundled (ADR 0730): `./zod` is the copy the other packages' built code imports.
export default packageBuild(["src/index.ts", "src/plugin-kit.ts", "src/testing/index.ts", "src/zod.ts"], { external: ["vitest"], noExternal: ["zod"] });
