import { test, expect, signIn } from "./fixtures";

// The CRM forms are plain HTML forms posting to server functions: the
// same walk works with JavaScript on and off.
for (const js of [true, false]) {
  test.describe(`CRM with JavaScript ${js ? "on" : "off"}`, () => {
    test.use({ javaScriptEnabled: js });

    test("an organisation and a contact are created, refused fields are named, and a stale edit is caught", async ({
      page,
      browser,
    }) => {
      const suffix = js ? "js" : "nojs";
      await signIn(page, "sales@devries.example");

      // A bad KvK and VAT number: nothing is saved, each field says why.
      await page.goto("/organisations");
      await page.getByText("New organisation").click();
      const form = page.getByTestId("organisation-form");
      await form.getByLabel("Name").fill(`Bloemenhuis ${suffix}`);
      await form.getByLabel("KvK number").fill("1234");
      await form.getByLabel("VAT number").fill("BE0123456789");
      await form.getByRole("button", { name: "Add organisation" }).click();
      await expect(page.getByTestId("form-refused")).toBeVisible();
      await expect(page.getByTestId("error-kvk")).toContainText("eight digits");
      await expect(page.getByTestId("error-vat")).toContainText("NL123456789B01");
      await expect(page.getByTestId("organisation-row").filter({ hasText: `Bloemenhuis ${suffix}` })).toHaveCount(0);

      // Corrected: saved and shown normalised.
      const again = page.getByTestId("organisation-form");
      await again.getByLabel("Name").fill(`Bloemenhuis ${suffix}`);
      await again.getByLabel("Website domain").fill(`https://www.bloemenhuis-${suffix}.example/`);
      await again.getByLabel("KvK number").fill("6912 3456");
      await again.getByLabel("VAT number").fill("nl823456789b01");
      await again.getByRole("button", { name: "Add organisation" }).click();
      await expect(page.getByRole("status")).toContainText("Saved.");
      await expect(page.getByTestId("organisation-name")).toHaveText(`Bloemenhuis ${suffix}`);
      await expect(page.getByTestId("organisation-kvk")).toHaveText("69123456");
      const orgUrl = page.url().split("?")[0];

      // A contact linked to it, with a Dutch mobile number.
      await page.goto("/persons");
      await page.getByText("New contact").click();
      const contact = page.getByTestId("contact-form");
      await contact.getByLabel("Name").fill(`Anouk ${suffix}`);
      await contact.getByLabel("Email").fill(`anouk-${suffix}@bloemenhuis.example`);
      await contact.getByLabel("Phone").fill("06 1234 5678");
      await contact.getByLabel("Organisation").selectOption({ label: `Bloemenhuis ${suffix}` });
      await contact.getByRole("button", { name: "Add contact" }).click();
      await expect(page.getByRole("status")).toContainText("Saved.");
      await expect(page.getByTestId("person-name")).toHaveText(`Anouk ${suffix}`);
      const personUrl = page.url().split("?")[0];

      // Two tabs edit the same version: the second is told to reload.
      const other = await browser.newContext({ javaScriptEnabled: js, storageState: await page.context().storageState() });
      const tab = await other.newPage();
      await tab.goto(personUrl);
      await page.goto(personUrl);
      await page.getByText("Edit contact").click();
      await page.getByTestId("contact-form").getByLabel("Name").fill(`Anouk de Vries ${suffix}`);
      await page.getByTestId("contact-form").getByRole("button", { name: "Save changes" }).click();
      await expect(page.getByTestId("person-name")).toHaveText(`Anouk de Vries ${suffix}`);
      await tab.getByText("Edit contact").click();
      await tab.getByTestId("contact-form").getByLabel("Name").fill(`Anouk Stale ${suffix}`);
      await tab.getByTestId("contact-form").getByRole("button", { name: "Save changes" }).click();
      await expect(tab.getByTestId("form-refused")).toContainText("changed since you opened it");
      await expect(tab.getByTestId("person-name")).toHaveText(`Anouk de Vries ${suffix}`);
      await other.close();

      // The header search finds the contact by a word of the name.
      await page.getByRole("searchbox").first().fill(`Anouk de Vries ${suffix}`);
      await page.getByRole("searchbox").first().press("Enter");
      await expect(page.getByTestId("search-hit").filter({ hasText: `Anouk de Vries ${suffix}` })).toBeVisible();

      // The organisation lists its contact.
      await page.goto(orgUrl);
      await expect(page.getByRole("link", { name: `Anouk de Vries ${suffix}` })).toBeVisible();
      await page.screenshot({ path: `test-results/organisation-${suffix}.png`, fullPage: true });
    });

    test("a deal is created and moved across the board to Won with a reason", async ({ page }) => {
      const suffix = js ? "js" : "nojs";
      await signIn(page, "sales@devries.example");
      await page.goto("/deals");
      await page.getByText("New deal").click();
      const form = page.getByTestId("deal-form");
      await form.getByLabel("Title").fill(`Relaunch ${suffix}`);
      await form.getByLabel("Value (euro)").fill("12.500,00");
      await form.getByRole("button", { name: "Add deal" }).click();
      await expect(page.getByRole("status")).toContainText("Saved.");

      const card = () => page.getByTestId("deal-card").filter({ hasText: `Relaunch ${suffix}` });
      await page.goto("/deals");
      await expect(page.locator('[data-stage="lead"]').getByTestId("deal-card").filter({ hasText: `Relaunch ${suffix}` })).toBeVisible();
      // Won without a reason is refused and says why.
      await card().getByRole("combobox").selectOption("won");
      await card().getByRole("button", { name: "Move" }).click();
      await expect(page.getByTestId("form-refused")).toBeVisible();
      await expect(page.locator('[data-stage="lead"]').getByTestId("deal-card").filter({ hasText: `Relaunch ${suffix}` })).toBeVisible();
      // Through Proposal, then Won with a reason.
      await card().getByRole("combobox").selectOption("proposal");
      await card().getByRole("button", { name: "Move" }).click();
      await expect(page.locator('[data-stage="proposal"]').getByTestId("deal-card").filter({ hasText: `Relaunch ${suffix}` })).toBeVisible();
      await card().getByRole("combobox").selectOption("won");
      await card().getByPlaceholder("Reason (needed for won or lost)").fill("Signed after the pitch");
      await card().getByRole("button", { name: "Move" }).click();
      await expect(page.locator('[data-stage="won"]').getByTestId("deal-card").filter({ hasText: `Relaunch ${suffix}` })).toBeVisible();

      // The stage history is on the deal's page.
      await card().getByRole("link", { name: `Relaunch ${suffix}` }).click();
      await expect(page.getByTestId("stage-history-row")).toHaveCount(3);
      await expect(page.getByTestId("stage-history-row").last()).toContainText("Signed after the pitch");

      if (js) {
        for (const width of [1280, 375]) {
          await page.setViewportSize({ width, height: 900 });
          await page.goto("/deals");
          // The board scrolls inside its own box; the page never gets
          // wider than the screen.
          const pageWidth = await page.evaluate(() => document.documentElement.scrollWidth);
          expect(pageWidth, `page width at ${width} px`).toBeLessThanOrEqual(width);
          await page.screenshot({ path: `test-results/board-${width}.png`, fullPage: true });
        }
      }
    });

    test("a deal is edited, found in the filtered list, and a new stage joins the board", async ({ page }) => {
      const suffix = js ? "js" : "nojs";
      await signIn(page, "admin@devries.example");
      await page.goto("/deals");
      await page.getByText("New deal").click();
      await page.getByTestId("deal-form").getByLabel("Title").fill(`Audit ${suffix}`);
      await page.getByTestId("deal-form").getByRole("button", { name: "Add deal" }).click();
      await expect(page.getByRole("status")).toContainText("Saved.");

      // Edit its value and closing date on its page; a bad amount is named.
      await page.getByText("Edit deal").click();
      const edit = page.getByTestId("deal-edit-form");
      await edit.getByLabel("Value (euro)").fill("12,3,4");
      await edit.getByRole("button", { name: "Save changes" }).click();
      await expect(page.getByTestId("error-value")).toContainText("euro");
      await page.getByTestId("deal-edit-form").getByLabel("Value (euro)").fill("7.250,00");
      await page.getByTestId("deal-edit-form").getByLabel("Expected close").fill(js ? "2031-02-14" : "2031-03-14");
      await page.getByTestId("deal-edit-form").getByRole("button", { name: "Save changes" }).click();
      await expect(page.getByRole("status")).toContainText("Saved.");

      // The list, filtered to its closing month, shows it with its value.
      await page.goto("/deals?view=list");
      await page.getByTestId("deal-filter").getByLabel("Closing month").fill(js ? "2031-02" : "2031-03");
      await page.getByTestId("deal-filter").getByRole("button", { name: "Apply" }).click();
      const row = page.getByTestId("deal-row").filter({ hasText: `Audit ${suffix}` });
      await expect(row).toContainText("€ 7.250");
      await expect(page.getByTestId("deal-row")).toHaveCount(1);
      await page.screenshot({ path: `test-results/deal-list-${suffix}.png`, fullPage: true });

      // A new stage in the pipeline settings becomes a board column.
      await page.goto("/settings/pipeline");
      const add = page.getByTestId("add-stage-form");
      await add.getByLabel("New stage").fill(`Demo ${suffix}`);
      await add.getByRole("button", { name: "Add stage" }).click();
      await expect(page.getByRole("status")).toContainText("Saved.");
      await expect(page.getByTestId("stage-row").filter({ has: page.locator(`input[value="Demo ${suffix}"]`) })).toHaveCount(1);
      await page.screenshot({ path: `test-results/pipeline-settings-${suffix}.png`, fullPage: true });
      await page.goto("/deals");
      // The column of the new stage (its key comes from its name).
      await expect(page.locator(`[data-stage="demo_${suffix}"]`).getByRole("heading")).toContainText(`Demo ${suffix}`);
    });
  });
}
