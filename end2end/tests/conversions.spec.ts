import { test, expect, signIn } from "./fixtures";
import { Page } from "@playwright/test";
import { fakeGoogleAds } from "../playwright.config";

// Issue 18: consent-checked conversion uploads. The fake Google Ads runs in
// `metiva-fakes` (started by the Playwright config); the worker inside
// `metiva serve` sends the upload, so the deal page is reloaded until the
// job has run. The demo seed gives Ruben Kok (open deal "SEO retainer
// 2027") a visitor with marketing consent, and Anouk Hendriks (open deal
// "Website redesign") one without.

async function winDeal(page: Page, title: string) {
  await page.goto("/deals");
  await page.getByTestId("deal-card").getByRole("link", { name: title }).click();
  await expect(page).toHaveURL(/\/deals\/[0-9a-f-]{36}/);
  const move = page.getByTestId("move-form");
  await move.getByLabel("Stage").selectOption({ label: "Won" });
  await move.getByLabel("Reason (needed for won or lost)").fill("Signed the proposal");
  await move.getByRole("button", { name: "Move" }).click();
  await expect(page.getByTestId("stage-history-row").last()).toContainText("Won");
}

async function uploadState(page: Page, text: string) {
  // Reload until the worker has run the upload job.
  await expect(async () => {
    await page.reload();
    await expect(page.getByTestId("conversion-upload").first()).toContainText(text, { timeout: 1_000 });
  }).toPass({ timeout: 30_000, intervals: [500, 1_000, 2_000] });
}

test.describe("conversion uploads", () => {
  test("the fake Google Ads is connected; a consented person's won deal is uploaded, a non-consented one is not sent", async ({
    page,
    request,
  }) => {
    await signIn(page, "owner@devries.example", "De Vries Media");
    await page.goto("/settings/integrations");
    const panel = page.getByTestId("integration-google_ads");
    await panel.locator("summary", { hasText: "Connect" }).click();
    const form = panel.getByTestId("connect-google_ads");
    await form.getByLabel("Customer ID").fill("123-456-7890");
    await form.getByLabel("Conversion action").fill("987654");
    await form.getByLabel("Developer token").fill("fake-developer-token");
    await form.getByLabel("Access token").fill("fake-access-token");
    await form.getByRole("button", { name: "Save and connect" }).click();
    await expect(page.getByTestId("integration-google_ads").getByTestId("integration-connected")).toBeVisible();

    await winDeal(page, "SEO retainer 2027");
    await uploadState(page, "uploaded");
    await expect(page.getByTestId("conversion-upload").first()).toHaveAttribute("data-state", "uploaded");

    // The fake received hashed identifiers only.
    const log = await (await request.get(`${fakeGoogleAds}/_fake/log`)).json();
    expect(log.received.length).toBeGreaterThanOrEqual(1);
    const text = JSON.stringify(log.received);
    expect(text).not.toContain("ruben@kokfietsen.example");
    expect(text).toContain("hashedEmail");

    await winDeal(page, "Website redesign");
    await uploadState(page, "not sent: no marketing consent");
    await expect(page.getByTestId("conversion-upload").first()).toHaveAttribute("data-state", "cancelled");
  });
});
