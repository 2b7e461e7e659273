import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { test, expect, signIn } from "./fixtures";

// Issue 16 in the browser: a contact's access-request export and its
// erasure with a downloadable receipt (JavaScript on and off: both are
// plain HTML forms), and a workspace export whose progress bar completes
// and whose ZIP carries a manifest.
for (const js of [true, false]) {
  test.describe(`privacy with JavaScript ${js ? "on" : "off"}`, () => {
    test.use({ javaScriptEnabled: js, acceptDownloads: true });

    test("a contact is exported, then erased, and the receipt downloads without personal data", async ({ page }) => {
      const suffix = js ? "js" : "nojs";
      const email = `wies-${suffix}@erase.example`;
      await signIn(page, "owner@devries.example", "De Vries Media");

      await page.goto("/persons");
      await page.getByText("New contact").click();
      const contact = page.getByTestId("contact-form");
      await contact.getByLabel("Name").fill(`Wies Erase ${suffix}`);
      await contact.getByLabel("Email").fill(email);
      await contact.getByRole("button", { name: "Add contact" }).click();
      await expect(page.getByRole("status")).toContainText("Saved.");
      await expect(page.getByTestId("person-name")).toHaveText(`Wies Erase ${suffix}`);

      // The access request: one click, a ZIP.
      const zipDownload = page.waitForEvent("download");
      await page.getByTestId("export-subject").click();
      const zip = await zipDownload;
      expect(zip.suggestedFilename()).toMatch(/\.zip$/);
      const zipPath = await zip.path();
      const listing = execFileSync("unzip", ["-l", zipPath]).toString();
      expect(listing).toContain("README");

      // The erasure: a reason from the list, then the receipt.
      await page.getByText("Edit contact").click();
      const erase = page.getByTestId("erase-form");
      await erase.getByLabel("Reason").selectOption("subject_request");
      await erase.getByRole("button", { name: "Erase contact" }).click();
      await expect(page).toHaveURL(/\/persons\?done=erased&receipt=/);
      await expect(page.getByTestId("erased")).toBeVisible();
      const receiptDownload = page.waitForEvent("download");
      await page.getByTestId("erased").getByRole("link", { name: "receipt (text)" }).click();
      const receipt = readFileSync(await (await receiptDownload).path()).toString();
      expect(receipt).toContain("Metiva erasure receipt");
      expect(receipt).not.toContain(email);
      expect(receipt).not.toContain("Wies Erase");

      // Gone from the list.
      await page.goto("/persons");
      await expect(page.getByText(`Wies Erase ${suffix}`)).toHaveCount(0);
    });
  });
}

test("a workspace export's progress bar completes and its ZIP carries the manifest", async ({ page }) => {
  test.setTimeout(120_000);
  await signIn(page, "owner@devries.example", "De Vries Media");
  await page.goto("/privacy/exports");
  await page.getByTestId("request-export").click();
  await expect(page).toHaveURL(/\/privacy\/exports\/[0-9a-f-]{36}$/);
  // The script polls status.json and moves the bar without a reload.
  await expect(page.getByTestId("export-progress")).toHaveAttribute("value", "100", { timeout: 90_000 });
  await page.reload();
  const download = page.waitForEvent("download");
  await page.getByTestId("download-export").click();
  const file = await (await download).path();
  const manifest = JSON.parse(execFileSync("unzip", ["-p", file, "manifest.json"]).toString());
  expect(manifest.format).toBe("metiva-workspace-export/1");
  const files: { file: string; rows: number; sha256: string }[] = manifest.files;
  expect(files.some((f) => f.file === "tables/persons.csv" && f.rows > 0)).toBe(true);
  for (const f of files) expect(f.sha256).toMatch(/^[0-9a-f]{64}$/);
  // Key material and the job queue never leave.
  expect(files.some((f) => f.file === "tables/company_keys.csv" || f.file === "tables/jobs.csv")).toBe(false);
  const withheld: { table: string }[] = manifest.withheld;
  expect(withheld.map((w) => w.table)).toEqual(expect.arrayContaining(["public.company_keys", "public.jobs"]));
});
