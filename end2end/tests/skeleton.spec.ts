import { test, expect, hydrated, openSettings, signIn } from "./fixtures";

test.beforeEach(async ({ page }) => {
  await signIn(page, "owner@devries.example", "De Vries Media");
});

test("the overview renders with Tailwind styles and the build version", async ({ page }) => {
  const response = await page.goto("/");
  // A strict CSP with this response's nonce; hydration still works under it
  // (any violation would be a console error, which fails the test).
  expect(response?.headers()["content-security-policy"]).toMatch(/script-src 'self' 'nonce-[A-Za-z0-9_-]+' 'wasm-unsafe-eval'/);
  await hydrated(page);
  await expect(page.getByRole("heading", { name: "Overview" })).toBeVisible();
  await expect(page.getByTestId("build-version")).toContainText("Version ");
  // Tailwind's CSS is loaded: the header background is white, the body is slate-50.
  const bg = await page.evaluate(() => getComputedStyle(document.body).backgroundColor);
  expect(bg).not.toBe("rgba(0, 0, 0, 0)");
  await page.screenshot({ path: "test-results/overview.png", fullPage: true });
});

test("the optimised wasm hydrates and the button calls the server function without a reload", async ({ page }) => {
  await page.goto("/system");
  await hydrated(page);
  await expect(page.getByTestId("runtime-role")).toHaveText("metiva_app");
  const count = Number(await page.getByTestId("checks-recorded").textContent());

  // A marker on window survives only if the page is not reloaded.
  await page.evaluate(() => ((window as any).__noReload = true));
  await page.getByTestId("run-check").click();
  await expect(page.getByTestId("checks-recorded")).toHaveText(String(count + 1));
  await expect(page.getByTestId("last-check")).toContainText("µs round trip");
  expect(await page.evaluate(() => (window as any).__noReload)).toBe(true);
  await page.screenshot({ path: "test-results/system.png", fullPage: true });
});

test.describe("with JavaScript off", () => {
  test.use({ javaScriptEnabled: false });

  test("the same button works through a plain form post", async ({ page }) => {
    await page.goto("/system");
    const count = Number(await page.getByTestId("checks-recorded").textContent());
    await page.getByTestId("run-check").click();
    await page.waitForLoadState("load");
    await expect(page).toHaveURL(/\/system/);
    await expect(page.getByTestId("checks-recorded")).toHaveText(String(count + 1));
  });
});

test("navigation works and unknown pages say so", async ({ page }) => {
  await page.goto("/");
  await hydrated(page);
  // System sits in the header's Settings menu.
  await (await openSettings(page)).getByRole("link", { name: "System" }).click();
  await expect(page).toHaveURL(/\/system$/);
  await expect(page.getByRole("heading", { name: "System" })).toBeVisible();
  const resp = await page.request.get("/definitely-not-here");
  expect(resp.status()).toBe(404);
});

test("the system page shows live isolation facts from the catalog", async ({ page }) => {
  await page.goto("/system");
  await hydrated(page);
  await expect(page.getByTestId("isolation-state")).toHaveText("Isolated");
  await expect(page.getByTestId("isolation-role")).toContainText("metiva_app: not a superuser, cannot bypass RLS, owns 0 tenant tables");
  await expect(page.getByTestId("isolation-tables")).toContainText(/\d+ tenant tables, each with RLS enabled and forced/);
});
