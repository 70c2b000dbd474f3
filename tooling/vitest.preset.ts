import { fileURLToPath } from "node:url";
import { defineConfig } from "vitest/config";

const tempDirSetup = fileURLToPath(new URL("./vitest.temp-dir.ts", import.meta.url));

/**
 * Unit tests (`*.test.ts`) and integration tests (`*.int.test.ts`) live beside the code.
 * `vitest run` runs the unit tests; `vitest run --project integration` the integration ones.
 * Integration tests run real processes, so they get long timeouts and one file at a time.
 * Both keep their temp folders in one private folder per invocation (see vitest.temp-dir.ts).
 */
export function packageTests() {
  return defineConfig({
    test: {
      globalSetup: [tempDirSetup],
      projects: [
        {
          test: {
            name: "unit",
            include: ["src/**/*.test.ts", "test/**/*.test.ts"],
            exclude: ["**/*.int.test.ts", "**/node_modules/**"],
            testTimeout: 20_000,
          },
        },
        {
          test: {
            name: "integration",
            include: ["src/**/*.int.test.ts", "test/**/*.int.test.ts"],
            testTimeout: 120_000,
            hookTimeout: 120_000,
            fileParallelism: false,
          },
        },
      ],
    },
  });
}
