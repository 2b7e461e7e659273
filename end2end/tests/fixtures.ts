import { test as base, expect, Page } from "@playwright/test";

// Every test fails on a browser console error or an uncaught page error:
// a broken hydration shows up there first.
export const test = base.extend<{ consoleErrors: string[] }>({
  consoleErrors: [
    async ({ page }, use) => {
      const errors: string[] = [];
      page.on("console", (msg) => {
        if (msg.type() === "error") errors.push(msg.text());
      });
      page.on("pageerror", (err) => errors.push(String(err)));
      await use(errors);
      expect(errors, "browser console errors").toEqual([]);
    },
    { auto: true },
  ],
});

export { expect };

/** Waits until the wasm bundle has hydrated the page's islands. */
export async function hydrated(page: Page) {
  await expect(page.locator("#hydration")).toHaveAttribute("data-hydrated", "true");
}

/**
 * Opens the header's Settings menu (a <details> disclosure holding the
 * workspace's settings pages: Members, Security, Billing, Jobs,
 * Integrations, System) and answers the main navigation.
 */
export async function openSettings(page: Page) {
  const nav = page.getByRole("navigation", { name: "Main" });
  await nav.locator("summary", { hasText: "Settings" }).click();
  await expect(nav.getByRole("link", { name: "Members" })).toBeVisible();
  return nav;
}

export const PASSWORD = "metiva-demo";

/**
 * Signs in through the real login service: the dashboard redirects an
 * anonymous visitor there, the form posts the password, the user picks a
 * workspace when they have several, and the one-time code brings them
 * back signed in.
 */
export async function signIn(page: Page, email: string, workspace?: string) {
  await page.goto("/");
  await expect(page).toHaveURL(/\/login\?/);
  await page.getByLabel("Email").fill(email);
  await page.getByLabel("Password").fill(PASSWORD);
  await page.getByRole("button", { name: "Sign in" }).click();
  if (workspace) {
    await expect(page.getByRole("heading", { name: "Choose a workspace" })).toBeVisible();
    await page.getByRole("button", { name: new RegExp(workspace) }).click();
  }
  await expect(page.getByTestId("company-id")).toBeVisible();
}
