import { test, expect, openSettings, signIn } from "./fixtures";

// The demo seed (`metiva seed-demo`) gives De Vries Media a retainer for
// Bloemenhuis Hendriks, billed at once: last month's and this month's
// invoices, whose PDFs the worker renders right after start, and whose
// issuing waits for a Stripe connection (none in this server), so those
// jobs fail and are retried.

test("/billing shows the demo retainer, its invoices and a downloadable PDF", async ({ page }) => {
  await signIn(page, "finance@devries.example");
  await (await openSettings(page)).getByRole("link", { name: "Billing" }).click();
  await expect(page).toHaveURL(/\/billing$/);
  await expect(
    page.getByTestId("retainer-row").filter({ hasText: "Website & SEO retainer" }),
  ).toContainText("Bloemenhuis Hendriks");
  const invoices = page.getByTestId("invoice-row").filter({ hasText: "Bloemenhuis Hendriks" });
  await expect(invoices).toHaveCount(2);
  await expect(invoices.first()).toContainText("€1,512.50");
  // The PDF job runs in the worker; the link appears once it has.
  await expect(async () => {
    await page.reload();
    await expect(page.getByTestId("invoice-pdf").first()).toBeVisible({ timeout: 1_000 });
  }).toPass({ timeout: 30_000 });
  const [download] = await Promise.all([
    page.waitForEvent("download"),
    page.getByTestId("invoice-pdf").first().click(),
  ]);
  expect(download.suggestedFilename()).toMatch(/^factuur-\d{4}-\d{4}\.pdf$/);
  const path = await download.path();
  const fs = await import("node:fs");
  const bytes = fs.readFileSync(path);
  // A PDF with an embedded font (printpdf): its text is glyph ids, so the
  // names and totals are checked by the Rust tests that read it back
  // (server/tests/it/billing_demo.rs); here the header and the end.
  expect(bytes.subarray(0, 5).toString("latin1")).toBe("%PDF-");
  expect(bytes.toString("latin1").trimEnd()).toMatch(/%%EOF$/);
});

test("a role without billing.read has no Billing link and is refused", async ({ page }) => {
  await signIn(page, "sales@devries.example");
  // The menu is open (its Members link is visible), and holds no Billing.
  const nav = await openSettings(page);
  await expect(nav.getByRole("link", { name: "Billing" })).toHaveCount(0);
  const r = await page.request.get("/billing/invoices/00000000-0000-4000-8000-000000000000/pdf");
  expect(r.status()).toBe(403);
});

test("/settings/jobs lists the jobs and a failed job is retried now", async ({ page }) => {
  await signIn(page, "owner@devries.example", "De Vries Media");
  await (await openSettings(page)).getByRole("link", { name: "Jobs" }).click();
  await expect(page).toHaveURL(/\/settings\/jobs$/);
  await expect(page.getByTestId("cron-retainer-billing")).toBeVisible();
  // The demo's issuing jobs fail (Stripe is not connected here).
  const failed = page.locator('[data-testid="job-row"][data-state="failed"], [data-testid="job-row"][data-state="dead"]');
  await expect(async () => {
    await page.reload();
    await expect(failed.first()).toBeVisible({ timeout: 1_000 });
  }).toPass({ timeout: 30_000 });
  await expect(failed.first()).toContainText("billing.issue_invoice");
  await expect(failed.first()).toContainText("stripe_not_connected");
  await failed.first().getByTestId("retry-job").click();
  await expect(page).toHaveURL(/\/settings\/jobs/);
  await expect(page.getByRole("status")).toBeVisible();
});

test("the Settings menu leads to invoice branding and to privacy", async ({ page }) => {
  await signIn(page, "owner@devries.example", "De Vries Media");
  await (await openSettings(page)).getByRole("link", { name: "Invoice branding" }).click();
  await expect(page).toHaveURL(/\/settings\/branding$/);
  await expect(page.getByRole("heading", { name: "Invoice branding" })).toBeVisible();
  await (await openSettings(page)).getByRole("link", { name: "Privacy and retention" }).click();
  await expect(page).toHaveURL(/\/settings\/privacy$/);
});
