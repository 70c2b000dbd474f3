import { defineConfig } from "vitest/config";

// Unit tests (`*.test.ts`) and the conformance suite, which runs real firejail (`*.int.test.ts`).
export default defineConfig({
  test: {
    projects: [
      { test: { name: "unit", include: ["src/**/*.test.ts", "test/**/*.test.ts"], exclude: ["**/*.int.test.ts"] } },
      { test: { name: "integration", include: ["src/**/*.int.test.ts", "test/**/*.int.test.ts"], testTimeout: 120_000, hookTimeout: 120_000, fileParallelism: false } },
    ],
  },
});
