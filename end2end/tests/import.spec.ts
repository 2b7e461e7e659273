import { test, expect, signIn } from "./fixtures";

// The CSV import is plain forms (a multipart upload, a GET form for the
// column mapping, a POST to confirm): the same walk works with JavaScript
// on and off. The file is what Excel in a Dutch locale writes: a
// byte-order mark, semicolons, CRLF line ends.
function contactsCsv(suffix: string, bramEmail: string): Buffer {
  return Buffer.from(
    "\ufeffNaam;E-mailadres;Telefoon;Organisatie\r\n" +
      `Anouk Jansma ${suffix};anouk-${suffix}@bloemen.example;06 1234 5678;Kuipers Bloemen ${suffix}\r\n` +
      `Bram Kuiper ${suffix};${bramEmail};;\r\n` +
      `Carla Wouters ${suffix};carla-${suffix}@bloemen.example;+31 20 123 4567;kuipers bloemen ${suffix}\r\n`,
  );
}

for (const js of [true, false]) {
  test.describe(`CSV import with JavaScript ${js ? "on" : "off"}`, () => {
    test.use({ javaScriptEnabled: js });

    test("a bad line is named with its line number and nothing is written; the fixed file writes every row", async ({
      page,
    }) => {
      const suffix = js ? "js" : "nojs";
      const names = [`Anouk Jansma ${suffix}`, `Bram Kuiper ${suffix}`, `Carla Wouters ${suffix}`];
      await signIn(page, "sales@devries.example");

      // From the contacts list to the upload form, contacts chosen.
      await page.goto("/persons");
      await page.getByTestId("import-link").click();
      await expect(page).toHaveURL(/\/import\?kind=contacts$/);
      await expect(page.getByLabel("Contacts", { exact: true })).toBeChecked();
      await page.screenshot({ path: `test-results/import-form-${suffix}.png`, fullPage: true });

      // Line 3 has an email address without a domain: the preview names
      // it, offers no confirmation, and nothing reaches the contacts.
      await page.getByLabel("CSV file").setInputFiles({
        name: "contacten.csv",
        mimeType: "text/csv",
        buffer: contactsCsv(suffix, `bram-${suffix}@bloemen`),
      });
      await page.getByRole("button", { name: "Preview", exact: true }).click();
      await expect(page).toHaveURL(/\/import\/[0-9a-f-]{36}$/);
      await expect(page.getByTestId("import-summary")).toContainText("semicolon");
      const problems = page.getByTestId("import-problem");
      await expect(problems).toHaveCount(1);
      await expect(problems).toHaveAttribute("data-line", "3");
      await expect(problems).toContainText("Email");
      await expect(page.getByTestId("import-confirm")).toHaveCount(0);
      await expect(page.getByTestId("import-blocked")).toBeVisible();
      // The Dutch headers were matched to their fields.
      await expect(page.getByTestId("import-column").first().getByRole("combobox")).toHaveValue("name");
      await page.screenshot({ path: `test-results/import-preview-${suffix}.png`, fullPage: true });
      await page.goto("/persons");
      for (const name of names) {
        await expect(page.getByTestId("person-row").filter({ hasText: name })).toHaveCount(0);
      }

      // The fixed file: no problems, and Import now writes every row.
      await page.goto("/import?kind=contacts");
      await page.getByLabel("CSV file").setInputFiles({
        name: "contacten.csv",
        mimeType: "text/csv",
        buffer: contactsCsv(suffix, `bram-${suffix}@bloemen.example`),
      });
      await page.getByRole("button", { name: "Preview", exact: true }).click();
      await expect(page.getByTestId("import-problem")).toHaveCount(0);
      await expect(page.getByTestId("import-sample")).toHaveCount(3);
      await page.getByRole("button", { name: "Import now" }).click();
      await expect(page).toHaveURL(/\/persons\?done=imported$/);
      await expect(page.getByRole("status")).toContainText("Imported");
      for (const name of names) {
        await expect(page.getByTestId("person-row").filter({ hasText: name })).toHaveCount(1);
      }
      // One organisation for both spellings, linked to both contacts.
      await expect(
        page.getByTestId("person-row").filter({ hasText: `Kuipers Bloemen ${suffix}` }),
      ).toHaveCount(2);
      await page.goto("/organisations");
      await expect(
        page.getByTestId("organisation-row").filter({ hasText: `Kuipers Bloemen ${suffix}` }),
      ).toHaveCount(1);
    });
  });
}
