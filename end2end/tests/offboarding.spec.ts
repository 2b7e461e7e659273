import { test, expect, hydrated, signIn } from "./fixtures";

// Offboarding from /settings/offboarding (issue 16): the page offers the
// full workspace export first, then asks for the workspace's name typed
// out. The whole run shares one database, so these specs stop short of
// the real offboarding (the server test `offboarding_page` drives it to
// the end): a wrong name is refused with a clear message and changes
// nothing, with JavaScript on and off, and a member who is not an owner
// gets no form.

for (const js of [true, false]) {
  test.describe(`offboarding, JavaScript ${js ? "on" : "off"}`, () => {
    test.use({ javaScriptEnabled: js });

    test("the export comes first, and a wrong name is refused", async ({ page }) => {
      await signIn(page, "owner@devries.example", "De Vries Media");
      await page.goto("/settings/privacy");
      await page.getByTestId("offboarding-link").click();
      await expect(page).toHaveURL(/\/settings\/offboarding$/);
      if (js) await hydrated(page);
      await expect(page.getByRole("heading", { name: "Offboard this workspace" })).toBeVisible();
      // Step 1: the full workspace export, before the form.
      const exportLink = page.getByTestId("offboard-export");
      await expect(exportLink).toHaveAttribute("href", "/privacy/exports");
      await expect(page.getByTestId("workspace-name")).toHaveText("De Vries Media");

      // Step 2: a wrong name comes back with the message; nothing changed.
      await page.getByLabel("Type the workspace's name to confirm:").fill("De Vries");
      await page.getByRole("button", { name: "Offboard workspace" }).click();
      await expect(page).toHaveURL(/\/settings\/offboarding\?invalid=name$/);
      await expect(page.getByTestId("error-name")).toHaveText(
        "The name you typed is not this workspace's name. Nothing was changed.",
      );
      // The workspace still works: the overview shows its company id.
      await page.goto("/");
      await expect(page.getByTestId("company-id")).toHaveText("cmp_8fa2c1");
    });
  });
}

test("a member who is not an owner gets no offboarding form", async ({ page }) => {
  await signIn(page, "admin@devries.example");
  await page.goto("/settings/offboarding");
  await hydrated(page);
  await expect(page.getByTestId("offboard-not-owner")).toHaveText(
    "Only an owner can offboard this workspace.",
  );
  await expect(page.getByTestId("offboard-form")).toHaveCount(0);
});

test("the page in Dutch", async ({ page }) => {
  await signIn(page, "owner@devries.example", "De Vries Media");
  await page.goto("/settings/offboarding?lang=nl");
  await expect(page.getByRole("heading", { name: "Deze werkruimte opheffen" })).toBeVisible();
  await expect(page.getByRole("button", { name: "Werkruimte opheffen" })).toBeVisible();
});
