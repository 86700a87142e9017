// Browses the `/shop` flow of `pummel target` in headless Chromium the way a person would — log
// in, open the list, open an item, order it, log out — with Playwright recording a HAR of it,
// for the `pummel convert` tests.
//
// Usage: node record-har.mjs BASE_URL OUT.har
// Environment: CHROMIUM (default /usr/bin/chromium), the browser to drive.
// Exits 1 when the flow does not complete in the browser, 2 on bad usage.
import { chromium } from "playwright-core";

const [base, out] = process.argv.slice(2);
if (!base || !out) {
  console.error("usage: node record-har.mjs BASE_URL OUT.har");
  process.exit(2);
}

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
  headless: true,
  args: ["--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"],
});
let failed = false;
try {
  const context = await browser.newContext({ recordHar: { path: out, content: "embed" } });
  const page = await context.newPage();
  page.setDefaultTimeout(15000);
  await page.goto(`${base}/shop/login`);
  await page.fill("#username", "demo");
  await page.fill("#password", "s3cret");
  // A person's pauses, which become think times.
  await page.waitForTimeout(300);
  await Promise.all([page.waitForURL("**/shop/items"), page.click("#login")]);
  await page.waitForTimeout(200);
  // The second item, not the first: the replay must find its own ids, not the recorded ones.
  await Promise.all([page.waitForURL(/\/shop\/items\/\d+$/), page.click("a.item >> nth=1")]);
  await page.fill("#quantity", "2");
  await page.click("#order");
  await page.waitForSelector("#view:not([hidden])");
  await Promise.all([page.waitForURL(/\/shop\/orders\//), page.click("#view")]);
  await page.waitForSelector("#confirmation");
  await Promise.all([page.waitForURL("**/shop/login"), page.click("#logout")]);
  await context.close();
} catch (e) {
  console.error(`the shop flow failed in the browser: ${e.message}`);
  failed = true;
} finally {
  await browser.close();
}
process.exit(failed ? 1 : 0);
