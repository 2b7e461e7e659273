import { test, expect, signIn } from "./fixtures";

// The demo seed (`metiva seed-demo`) gives De Vries Media one first-response
// task past its SLA deadline, already marked breached by the sweep and
// noticed to its assignee, the owner.

test("a breached first-response task shows on /tasks with the breach marker", async ({ page }) => {
  await signIn(page, "owner@devries.example", "De Vries Media");
  await page.getByRole("link", { name: "Tasks", exact: true }).click();
  await expect(page).toHaveURL(/\/tasks$/);
  const breached = page.getByTestId("task-row").filter({ has: page.getByTestId("sla-breached") });
  await expect(breached.first()).toContainText("First response to the new lead");
  await expect(breached.first().getByTestId("sla-breached")).toHaveText("SLA breached");
  await expect(page.getByTestId("notices")).toContainText("SLA breaches");

  await page.goto("/tasks?lang=nl");
  await expect(page.getByTestId("sla-breached").first()).toHaveText("SLA overschreden");
});

test("/settings/alerts offers the phone form without JavaScript", async ({ browser }) => {
  const context = await browser.newContext({ javaScriptEnabled: false });
  const page = await context.newPage();
  await signIn(page, "owner@devries.example", "De Vries Media");
  await page.goto("/settings/alerts");
  await expect(page.getByRole("heading", { name: "SMS alerts" })).toBeVisible();
  await page.getByLabel("Mobile number").fill("not a number");
  await page.getByRole("button", { name: "Send code" }).click();
  await expect(page).toHaveURL(/\/settings\/alerts\?error=phone\.format$/);
  await expect(page.getByTestId("error")).toContainText("Enter a mobile number");
  await context.close();
});
