import http from "node:http";
import type { AddressInfo } from "node:net";
import { test, expect, signIn } from "./fixtures";
import { appUrl } from "../playwright.config";

// A client website on its own origin (another port), embedding the snippet
// exactly as the /consent page tells an agency to.
const SITE_KEY = "pk_devries_demo_site";
let server: http.Server;
let siteUrl = "";

test.beforeAll(async () => {
  server = http.createServer((_req, res) => {
    res.writeHead(200, { "content-type": "text/html; charset=utf-8" });
    res.end(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Bakkerij Jansen</title></head>
<body>
  <h1>Bakkerij Jansen</h1>
  <form data-metiva-capture id="contact">
    <label>Name <input name="name"></label>
    <label>Email <input name="email"></label>
    <label>Company <input name="company"></label>
    <button type="submit">Send</button>
  </form>
  <p id="capture-result"></p>
  <script>
    document.getElementById("contact").addEventListener("metiva:capture", function (e) {
      document.getElementById("capture-result").textContent = JSON.stringify(e.detail);
    });
  </script>
  <script src="${appUrl}/s/${SITE_KEY}/snippet.js" async></script>
</body></html>`);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  siteUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
});

test.afterAll(async () => {
  await new Promise((resolve) => server.close(resolve));
});

async function storage(page: import("@playwright/test").Page) {
  return page.evaluate(() => {
    const out: Record<string, string> = {};
    for (let i = 0; i < localStorage.length; i++) {
      const k = localStorage.key(i) as string;
      out[k] = localStorage.getItem(k) as string;
    }
    return out;
  });
}

const collected = (page: import("@playwright/test").Page, type: string) =>
  page.waitForResponse(
    (r) => r.url().endsWith("/collect") && (r.request().postData() ?? "").includes(`"type":"${type}"`),
  );

test("before a choice: no cookie, no storage, and the visit counts at company level", async ({ page, context }) => {
  const view = collected(page, "pageview");
  await page.goto(siteUrl);
  const r = await view;
  expect(r.status()).toBe(204);
  expect(JSON.parse(r.request().postData() ?? "{}").visitor).toBeNull();
  await expect(page.getByRole("dialog")).toBeVisible();
  // Reject and accept side by side, one click each.
  await expect(page.locator('[data-metiva="reject"]')).toBeVisible();
  await expect(page.locator('[data-metiva="accept"]')).toBeVisible();
  expect(await context.cookies()).toEqual([]);
  expect(await storage(page)).toEqual({});
  // Google Consent Mode v2: everything denied by default.
  const defaults = await page.evaluate(() =>
    (window as any).dataLayer.map((a: IArguments) => Array.from(a)).find((a: unknown[]) => a[1] === "default"),
  );
  expect(defaults[2]).toMatchObject({
    analytics_storage: "denied",
    ad_storage: "denied",
    ad_user_data: "denied",
    ad_personalization: "denied",
  });
});

test("reject: still no cookie and no identifier", async ({ page, context }) => {
  await page.goto(siteUrl);
  const decision = collected(page, "consent");
  await page.locator('[data-metiva="reject"]').click();
  expect((await decision).status()).toBe(204);
  await expect(page.getByRole("dialog")).toBeHidden();
  expect(await context.cookies()).toEqual([]);
  const s = await storage(page);
  expect(s.metiva_vid).toBeUndefined();
  // Only the choice itself is remembered (so the banner does not return),
  // and it holds no identifier.
  expect(Object.keys(s).filter((k) => k !== "metiva_consent")).toEqual([]);
  expect(JSON.parse(s.metiva_consent).p).toEqual({ analytics: false, identification: false, marketing: false });
  expect(s.metiva_consent).not.toMatch(/[0-9a-f]{8}-[0-9a-f]{4}-/);
  // The next page view is still company-level.
  const view = collected(page, "pageview");
  await page.reload();
  expect(JSON.parse((await view).request().postData() ?? "{}").visitor).toBeNull();
  // A form submitted without consent sends nothing personal.
  let captured = false;
  page.on("request", (req) => {
    if (req.url().endsWith("/capture")) captured = true;
  });
  await page.getByLabel("Email").fill("nobody@example.nl");
  await page.getByRole("button", { name: "Send" }).click();
  await expect(page.locator("#capture-result")).toContainText("no-consent");
  expect(captured).toBe(false);
});

test("accept analytics: an identifier appears; withdraw: it is gone", async ({ page, context }) => {
  await page.goto(siteUrl);
  await page.locator('[data-metiva="customise"]').click();
  await page.locator('[data-purpose="analytics"]').check();
  const decision = collected(page, "consent");
  await page.locator('[data-metiva="save"]').click();
  const sent = JSON.parse((await decision).request().postData() ?? "{}");
  expect(sent.purposes).toEqual({ analytics: true, identification: false, marketing: false });
  const vid = (await storage(page)).metiva_vid;
  expect(vid).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
  expect(sent.visitor).toBe(vid);
  expect(await context.cookies()).toEqual([]);
  const update = await page.evaluate(() =>
    (window as any).dataLayer.map((a: IArguments) => Array.from(a)).filter((a: unknown[]) => a[1] === "update").pop(),
  );
  expect(update[2]).toMatchObject({ analytics_storage: "granted", ad_storage: "denied" });

  // The persistent privacy-settings link withdraws.
  await page.locator('[data-metiva="settings"]').click();
  const withdrawal = collected(page, "consent");
  await page.locator('[data-metiva="withdraw"]').click();
  const w = JSON.parse((await withdrawal).request().postData() ?? "{}");
  expect(w.withdraw).toBe(true);
  expect(w.visitor).toBe(vid);
  expect((await storage(page)).metiva_vid).toBeUndefined();
});

test("a consented form capture shows up as a person on the dashboard", async ({ page }) => {
  await page.goto(siteUrl);
  const decision = collected(page, "consent");
  await page.locator('[data-metiva="accept"]').click();
  expect((await decision).status()).toBe(204);
  const email = `eva.${Date.now()}@dewit.example`;
  await page.getByLabel("Name").fill("Eva de Wit");
  await page.getByLabel("Email").fill(email);
  await page.getByLabel("Company").fill("De Wit Bakkers");
  const capture = page.waitForResponse((r) => r.url().endsWith("/capture"));
  await page.getByRole("button", { name: "Send" }).click();
  expect((await capture).status()).toBe(201);
  await expect(page.locator("#capture-result")).toContainText('"ok":true');

  await signIn(page, "owner@devries.example", "De Vries Media");
  await page.goto("/persons");
  const row = page.getByTestId("person-row").filter({ hasText: email });
  await expect(row).toContainText("Eva de Wit");
  await row.getByRole("link", { name: "Eva de Wit" }).click();
  await expect(page.getByTestId("person-name")).toHaveText("Eva de Wit");
  // Visitor → person on one record.
  await expect(page.getByTestId("linked-visitor")).toHaveCount(1);
});

test("the visitors page draws its chart without JavaScript, and the consent page shows the tag", async ({ browser }) => {
  const context = await browser.newContext({ javaScriptEnabled: false, baseURL: appUrl });
  const page = await context.newPage();
  await page.goto("/visitors");
  await page.getByLabel("Email").fill("owner@devries.example");
  await page.getByLabel("Password").fill("metiva-demo");
  await page.getByRole("button", { name: "Sign in" }).click();
  await page.getByRole("button", { name: /De Vries Media/ }).click();
  await expect(page).toHaveURL(/\/visitors$/);
  await expect(page.getByTestId("visits-chart").locator("rect")).toHaveCount(30);
  await expect(page.getByTestId("org-row").first()).toBeVisible();
  await page.goto("/consent");
  await expect(page.getByTestId("snippet-tag")).toContainText(`/s/${SITE_KEY}/snippet.js`);
  await expect(page.getByTestId("deny-by-default")).toBeVisible();
  await context.close();
});
