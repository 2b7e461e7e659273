import { test, expect, hydrated, signIn } from "./fixtures";

test("the security page binds to the token's company, even with an injected X-Tenant header", async ({ page }) => {
  await signIn(page, "owner@devries.example", "De Vries Media");
  await page.goto("/settings/security");
  await expect(page.getByTestId("binding-company-id")).toHaveText("cmp_8fa2c1");
  await expect(page.getByTestId("binding-company-name")).toHaveText("De Vries Media");
  await expect(page.getByTestId("binding-source")).toHaveText("Signed token");
  await expect(page.getByTestId("binding-state")).toHaveText("Fail-closed");
  await expect(page.getByText("Browser-sent headers ignored. The claim always wins.")).toBeVisible();
  await expect(page.getByTestId("ignored-headers")).toHaveCount(0);
  // Both workspaces of this user, each marked isolated by a live check.
  await expect(page.getByTestId("workspace-row")).toHaveCount(2);
  await expect(page.getByTestId("workspace-row").filter({ hasText: "Isolated" })).toHaveCount(2);
  await expect(page.getByTestId("isolation-check")).toContainText("tenant tables");
  await expect(page.getByTestId("fact-consent")).toHaveText("Deny by default");
  await expect(page.getByTestId("fact-ip")).toContainText("Truncated + encrypted");
  await hydrated(page);
  await page.screenshot({ path: "test-results/security.png", fullPage: true });

  // The browser now sends X-Tenant for another company on every request.
  await page.setExtraHTTPHeaders({ "X-Tenant": "cmp_1d47b9" });
  await page.reload();
  await expect(page.getByTestId("binding-company-id")).toHaveText("cmp_8fa2c1");
  await expect(page.getByTestId("ignored-headers")).toContainText("x-tenant: cmp_1d47b9");
  await page.screenshot({ path: "test-results/security-x-tenant.png", fullPage: true });
});

test("the isolation self-test runs and every step passes", async ({ page }) => {
  await signIn(page, "sales@devries.example");
  await page.goto("/settings/security");
  await hydrated(page);
  await page.getByTestId("run-self-test").click();
  await expect(page.getByTestId("self-test-step")).toHaveCount(3);
  await expect(page.locator('[data-testid="self-test-step"][data-passed="true"]')).toHaveCount(3);
  await page.screenshot({ path: "test-results/self-test.png", fullPage: true });
  // It was audited: a fresh render shows the last run.
  await page.reload();
  await expect(page.getByTestId("last-self-test")).toContainText("passed at");
});

test("at 375 px wide the security page does not overflow", async ({ browser }) => {
  const ctx = await browser.newContext({ viewport: { width: 375, height: 800 } });
  const page = await ctx.newPage();
  await signIn(page, "viewer@devries.example");
  await page.goto("/settings/security");
  await expect(page.getByTestId("binding-company-id")).toHaveText("cmp_8fa2c1");
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
  expect(overflow).toBeLessThanOrEqual(0);
  await page.screenshot({ path: "test-results/security-375.png", fullPage: true });
  await ctx.close();
});
