import { test } from "@playwright/test";
import { signIn } from "../tests/fixtures";

// Page timing in real Chromium, from the browser's own Navigation Timing:
// time to first byte, full load (the load event), and interactive (the
// islands hydrated). 5 warm-up loads, then 50 measured; p50 and p90.
const PAGES = ["/settings/security", "/visitors"];
const WARMUP = 5;
const LOADS = 50;

const pct = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.round((s.length - 1) * p))];
};

test("page timing in Chromium", async ({ page }) => {
  await signIn(page, "owner@devries.example", "De Vries Media");
  const lines: string[] = [];
  for (const path of PAGES) {
    const ttfb: number[] = [];
    const load: number[] = [];
    const interactive: number[] = [];
    let bytes = 0;
    for (let i = 0; i < WARMUP + LOADS; i++) {
      await page.goto(path, { waitUntil: "load" });
      await page.waitForSelector('#hydration[data-hydrated="true"]', { state: "attached" });
      const t = await page.evaluate(() => {
        const n = performance.getEntriesByType("navigation")[0] as PerformanceNavigationTiming;
        return {
          ttfb: n.responseStart - n.startTime,
          load: n.loadEventEnd - n.startTime,
          interactive: performance.now(),
          bytes: n.encodedBodySize,
        };
      });
      if (i >= WARMUP) {
        ttfb.push(t.ttfb);
        load.push(t.load);
        interactive.push(t.interactive);
        bytes = t.bytes;
      }
    }
    lines.push(
      `  ${path.padEnd(20)} first byte p50 ${pct(ttfb, 0.5).toFixed(1)} ms (p90 ${pct(ttfb, 0.9).toFixed(1)}), ` +
        `full load p50 ${pct(load, 0.5).toFixed(1)} ms (p90 ${pct(load, 0.9).toFixed(1)}), ` +
        `hydrated p50 ${pct(interactive, 0.5).toFixed(1)} ms; HTML ${(bytes / 1024).toFixed(1)} KB as sent`,
    );
  }
  console.log(`page timing (Chromium, ${LOADS} loads each after ${WARMUP} warm-up, signed in):\n${lines.join("\n")}`);
});
