import { defineConfig } from "@playwright/test";
import base from "./playwright.config";

// `cargo xtask bench page`: the same real server as the end-to-end tests,
// but the specs in ./bench, which measure instead of assert.
export default defineConfig({
  ...base,
  testDir: "./bench",
  timeout: 300_000,
  reporter: [["list"]],
});
