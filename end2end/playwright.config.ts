import { defineConfig } from "@playwright/test";

// `cargo xtask test` builds the release binary and site, picks free ports and
// a throw-away data directory, and passes them in. Playwright starts the
// real `metiva serve` (with its own private embedded PostgreSQL, seeded with
// the demo data) and stops it with SIGTERM afterwards.
const appPort = process.env.METIVA_E2E_APP_PORT ?? "3100";
const loginPort = process.env.METIVA_E2E_LOGIN_PORT ?? "3101";
const bin = process.env.METIVA_E2E_BIN ?? "../target/release/metiva";
const dataDir = process.env.METIVA_E2E_DATA_DIR ?? ".e2e/data";
const siteRoot = process.env.METIVA_E2E_SITE_ROOT ?? "../target/site";
// The fake providers (issue 18): Stripe, Twilio, Google Ads, Meta and a
// webhook receiver on five ports from this one (`metiva-fakes`, a test-kit
// binary built with the release build).
const fakesBase = Number(process.env.METIVA_E2E_FAKES_PORT ?? "4110");
const fakesBin = process.env.METIVA_E2E_FAKES_BIN ?? "../target/release/metiva-fakes";
export const fakeUrl = (offset: number) => `http://127.0.0.1:${fakesBase + offset}`;
export const fakeGoogleAds = fakeUrl(2);
export const fakeWebhook = fakeUrl(4);
export const appUrl = `http://127.0.0.1:${appPort}`;
export const loginUrl = `http://127.0.0.1:${loginPort}`;

export default defineConfig({
  testDir: "./tests",
  timeout: 30_000,
  expect: { timeout: 10_000 },
  fullyParallel: false,
  workers: 1,
  retries: 0,
  // `list` for people; the JSON file lets `cargo xtask test` count results.
  reporter: [["list"], ["json", { outputFile: "test-results/results.json" }]],
  outputDir: "test-results",
  use: {
    baseURL: appUrl,
    screenshot: "only-on-failure",
    trace: "retain-on-failure",
    launchOptions: {
      executablePath: process.env.CHROMIUM_PATH ?? "/usr/bin/chromium",
      args: [
        "--no-sandbox",
        "--headless",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
      ],
    },
  },
  webServer: [
    {
      command: `exec ${fakesBin} --port-base ${fakesBase}`,
      url: `${fakeGoogleAds}/_fake/log`,
      timeout: 30_000,
      reuseExistingServer: false,
      stdout: "pipe",
      stderr: "pipe",
      gracefulShutdown: { signal: "SIGTERM", timeout: 5_000 },
    },
    {
      // The demo workspaces and users (bcrypt cost 12, as in production),
      // then the real server.
      command: `${bin} seed-demo && exec ${bin} serve`,
      url: `${appUrl}/readyz`,
      timeout: 120_000,
      reuseExistingServer: false,
      stdout: "pipe",
      stderr: "pipe",
      gracefulShutdown: { signal: "SIGTERM", timeout: 10_000 },
      env: {
        METIVA_APP_ADDR: `127.0.0.1:${appPort}`,
        METIVA_LOGIN_ADDR: `127.0.0.1:${loginPort}`,
        METIVA_DATA_DIR: dataDir,
        LEPTOS_SITE_ROOT: siteRoot,
        RUST_LOG: "warn",
        METIVA_STRIPE_API_BASE: fakeUrl(0),
        METIVA_TWILIO_API_BASE: fakeUrl(1),
        METIVA_GOOGLE_ADS_API_BASE: fakeUrl(2),
        METIVA_META_API_BASE: fakeUrl(3),
        // The webhook destination in the tests is the loopback fake.
        METIVA_WEBHOOK_ALLOW_PRIVATE: "1",
        // The worker polls often so a won deal's upload shows quickly.
        METIVA_JOBS_POLL_MS: "200",
      },
    },
  ],
});
