import { test, expect, hydrated, signIn, PASSWORD } from "./fixtures";

test("sign in, choose De Vries Media, switch to Brouwer Retail, sign out", async ({ page }) => {
  await page.goto("/");
  // The dashboard serves no login form: it sends us to the login service.
  await expect(page).toHaveURL(/:\d+\/login\?return_to=/);
  expect(new URL(page.url()).port).not.toBe(new URL(test.info().project.use.baseURL!).port);
  await expect(page.getByLabel("Email")).toBeVisible();
  await page.screenshot({ path: "test-results/login.png", fullPage: true });
  await page.getByLabel("Email").fill("owner@devries.example");
  await page.getByLabel("Password").fill(PASSWORD);
  await page.getByRole("button", { name: "Sign in" }).click();

  await expect(page.getByRole("heading", { name: "Choose a workspace" })).toBeVisible();
  await page.screenshot({ path: "test-results/choose-workspace.png", fullPage: true });
  await page.getByRole("button", { name: /De Vries Media/ }).click();

  await expect(page.getByTestId("company-id")).toHaveText("cmp_8fa2c1");
  await expect(page.getByTestId("company-name")).toHaveText("De Vries Media");
  // The token never appears in a URL.
  expect(page.url()).not.toContain("code=");
  expect(page.url()).not.toContain("eyJ");
  await hydrated(page);
  await page.screenshot({ path: "test-results/dashboard-devries.png", fullPage: true });

  await page.getByRole("link", { name: "Switch workspace" }).click();
  await expect(page.getByRole("heading", { name: "Choose a workspace" })).toBeVisible();
  await page.getByRole("button", { name: /Brouwer Retail/ }).click();
  await expect(page.getByTestId("company-id")).toHaveText("cmp_1d47b9");
  await expect(page.getByTestId("company-name")).toHaveText("Brouwer Retail");

  await page.getByRole("button", { name: "Sign out" }).click();
  await expect(page.getByText("You are signed out of Metiva on this device.")).toBeVisible();
  // Signed out for real: the dashboard asks for a password again.
  await page.goto("/");
  await expect(page.getByLabel("Password")).toBeVisible();
});

test("a viewer finds member management unavailable", async ({ page }) => {
  await signIn(page, "viewer@devries.example");
  await expect(page.getByTestId("company-id")).toHaveText("cmp_8fa2c1");
  await page.goto("/members");
  await expect(page.getByTestId("members-readonly")).toContainText("not available for your role");
  await expect(page.getByTestId("invite-form")).toHaveCount(0);
  await expect(page.getByRole("button", { name: "Change role" })).toHaveCount(0);
  // And the server refuses it anyway.
  const resp = await page.request.post("/api/members/00000000-0000-0000-0000-000000000000/suspend", {
    form: {},
    headers: { Accept: "application/json" },
  });
  expect(resp.status()).toBe(403);
  await page.screenshot({ path: "test-results/members-viewer.png", fullPage: true });
});

test("an owner sees the member list with its controls", async ({ page }) => {
  await signIn(page, "owner@devries.example", "De Vries Media");
  await page.goto("/members");
  await expect(page.getByTestId("member-row")).toHaveCount(8);
  await expect(page.getByTestId("invite-form")).toBeVisible();
  await page.screenshot({ path: "test-results/members-owner.png", fullPage: true });
});

test("a role change is seen on the member's next navigation, in another browser", async ({ browser, page }) => {
  const member = await browser.newContext();
  const memberPage = await member.newPage();
  await signIn(memberPage, "marketing@devries.example");
  await memberPage.goto("/");
  await expect(memberPage.getByTestId("user-role")).toHaveText("Marketing");

  await signIn(page, "owner@devries.example", "De Vries Media");
  await page.goto("/members");
  const row = page.getByTestId("member-row").filter({ hasText: "marketing@devries.example" });
  await row.getByLabel("Role").selectOption("admin");
  await row.getByRole("button", { name: "Change role" }).click();
  await expect(page.getByRole("status")).toContainText("The role was changed.");

  await memberPage.goto("/");
  await expect(memberPage.getByTestId("user-role")).toHaveText("Admin");
  await memberPage.goto("/members");
  await expect(memberPage.getByTestId("invite-form")).toBeVisible();
  await member.close();
});

test.describe("with JavaScript off", () => {
  test.use({ javaScriptEnabled: false });

  test("sign-in still works", async ({ page }) => {
    await signIn(page, "sales@devries.example");
    await expect(page.getByTestId("company-id")).toHaveText("cmp_8fa2c1");
    await expect(page.getByTestId("user-role")).toHaveText("Sales");
  });
});

test("the login service speaks Dutch when the browser asks for it", async ({ browser }) => {
  const nl = await browser.newContext({ locale: "nl-NL" });
  const page = await nl.newPage();
  await page.goto("/");
  await expect(page.getByRole("heading", { name: "Inloggen bij Metiva" })).toBeVisible();
  await expect(page.getByLabel("E-mailadres")).toBeVisible();
  await expect(page.getByLabel("Wachtwoord")).toBeVisible();
  await page.getByRole("link", { name: "English" }).click();
  await expect(page.getByLabel("Email")).toBeVisible();
  await page.screenshot({ path: "test-results/login-en-after-switch.png" });
  await nl.close();
});
