import AxeBuilder from "@axe-core/playwright";
import { test, expect, signIn } from "./fixtures";

// The public Trust Center: no sign-in, accessible, fits a phone, and its
// walkthrough form works with the consent banner and without JavaScript.

test("/trust renders without sign-in, with live facts", async ({ page }) => {
  const res = await page.goto("/trust");
  expect(res?.status()).toBe(200);
  await expect(page).toHaveURL(/\/trust$/);
  await expect(page.getByRole("heading", { level: 1 })).toContainText("Compliance by architecture");
  await expect(page.getByTestId("fact-roles")).toContainText("8");
  await expect(page.getByTestId("fact-isolation")).toContainText("tenant tables, every one");
  await expect(page.getByTestId("fact-consent")).toContainText("Deny by default");
  // Metiva's own consent banner, for the operator workspace's site.
  await expect(page.getByRole("dialog")).toBeVisible();
});

test("/trust has no serious or critical axe violations", async ({ page }) => {
  await page.goto("/trust");
  await expect(page.getByRole("dialog")).toBeVisible();
  const results = await new AxeBuilder({ page }).analyze();
  const bad = results.violations.filter((v) => v.impact === "serious" || v.impact === "critical");
  expect(bad.map((v) => `${v.id}: ${v.nodes.map((n) => n.target.join(" ")).join(", ")}`)).toEqual([]);
  await page.goto("/trust/processing?lang=nl");
  const processing = await new AxeBuilder({ page }).analyze();
  expect(processing.violations.filter((v) => v.impact === "serious" || v.impact === "critical")).toEqual([]);
});

test("at 375 px nothing overflows sideways", async ({ page }) => {
  await page.setViewportSize({ width: 375, height: 800 });
  for (const path of ["/trust", "/trust?lang=nl", "/trust/processing"]) {
    await page.goto(path);
    const width = await page.evaluate(() => document.documentElement.scrollWidth);
    expect(width, path).toBeLessThanOrEqual(375);
  }
});

test("the walkthrough form with consent goes through /capture and lands in the operator workspace", async ({ page }) => {
  await page.goto("/trust");
  await page.locator('[data-metiva="accept"]').click();
  await expect(page.getByRole("dialog")).toBeHidden();
  const email = `mila.${Date.now()}@bureau.example`;
  const form = page.getByTestId("walkthrough-form");
  await form.getByLabel("Your name").fill("Mila de Boer");
  await form.getByLabel("Work email").fill(email);
  await form.getByLabel("Agency (optional)").fill("De Boer Digitaal");
  const capture = page.waitForResponse((r) => r.url().endsWith("/capture"));
  await form.getByRole("button", { name: "Book a walkthrough" }).click();
  expect((await capture).status()).toBe(201);
  await expect(page).toHaveURL(/\/trust\/thanks/);
  await expect(page.getByTestId("walkthrough-thanks")).toBeVisible();

  await signIn(page, "owner@metiva.example");
  await page.goto("/persons");
  const row = page.getByTestId("person-row").filter({ hasText: email });
  await expect(row).toContainText("Mila de Boer");
  await row.getByRole("link", { name: "Mila de Boer" }).click();
  await expect(page.getByTestId("linked-visitor")).toHaveCount(1);
});

test.describe("without JavaScript", () => {
  test.use({ javaScriptEnabled: false });

  test("the walkthrough form posts plainly, and bad input comes back marked", async ({ page, consoleErrors }) => {
    await page.goto("/trust?lang=nl");
    const form = page.getByTestId("walkthrough-form");
    await form.getByLabel("Je naam").fill("Sam");
    await form.getByLabel("Zakelijk e-mailadres").fill("sam@x");
    // `sam@x` passes the browser's own email check; the server refuses it.
    await form.getByRole("button", { name: "Plan een rondleiding" }).click();
    await expect(page.getByText("Vul een e-mailadres in")).toBeVisible();
    await expect(page.getByLabel("Zakelijk e-mailadres")).toHaveAttribute("aria-invalid", "true");
    // The 422 answer is the point here; the browser logs it as a failed load.
    const refused = consoleErrors.findIndex((e) => e.includes("422"));
    expect(refused).toBeGreaterThanOrEqual(0);
    consoleErrors.splice(refused, 1);
    await page.getByLabel("Zakelijk e-mailadres").fill(`sam.${Date.now()}@bureau.example`);
    await page.getByRole("button", { name: "Plan een rondleiding" }).click();
    await expect(page).toHaveURL(/\/trust\/thanks\?lang=nl/);
    await expect(page.getByTestId("walkthrough-thanks")).toContainText("Dank je");
  });
});
