// Loads a pummel HTML report in headless Chromium and checks what a person would see:
//
// - every chart the page describes was drawn by uPlot (canvases present, with pixels on them);
// - nothing was logged as an error and no script threw;
// - the page asked for nothing over the network (only file:, data:, blob: and about: URLs);
// - optionally, a full-page screenshot.
//
// Usage: node check-report.mjs REPORT.html [SCREENSHOT.png]
// Environment: CHROMIUM (default /usr/bin/chromium), the browser to drive.
// Prints one JSON line with what it found; exits 1 when a check fails, 2 on bad usage.
import { chromium } from "playwright-core";
import { pathToFileURL } from "node:url";
import path from "node:path";

const [file, screenshot] = process.argv.slice(2);
if (!file) {
  console.error("usage: node check-report.mjs REPORT.html [SCREENSHOT.png]");
  process.exit(2);
}

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
  headless: true,
  args: [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
  ],
});

const found = { file, errors: [], requests: [], expected: null, drawn: null, canvases: 0, painted: 0 };
try {
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 }, deviceScaleFactor: 1 });
  const page = await context.newPage();
  page.on("console", (m) => {
    if (m.type() === "error") found.errors.push(`console: ${m.text()}`);
  });
  page.on("pageerror", (e) => found.errors.push(`uncaught: ${e.message}`));
  page.on("request", (r) => {
    if (!/^(file|data|blob|about):/.test(r.url())) found.requests.push(r.url());
  });

  await page.goto(pathToFileURL(path.resolve(file)).href, { waitUntil: "load" });
  await page.waitForFunction(() => document.body.hasAttribute("data-charts-drawn"), null, { timeout: 15000 });
  Object.assign(
    found,
    await page.evaluate(() => {
      const canvases = [...document.querySelectorAll(".uplot canvas")];
      // A chart that drew something has opaque pixels on its canvas.
      const painted = canvases.filter((c) => {
        const ctx = c.getContext("2d");
        const { data } = ctx.getImageData(0, 0, c.width, c.height);
        for (let i = 3; i < data.length; i += 4 * 7) if (data[i] !== 0) return true;
        return false;
      }).length;
      return {
        expected: Number(document.body.getAttribute("data-charts-expected")),
        drawn: Number(document.body.getAttribute("data-charts-drawn")),
        canvases: canvases.length,
        painted,
      };
    }),
  );
  if (screenshot) await page.screenshot({ path: screenshot, fullPage: true });
} finally {
  await browser.close();
}

const problems = [];
if (found.errors.length) problems.push("errors on the page");
if (found.requests.length) problems.push("network requests");
if (!(found.canvases > 0)) problems.push("no uPlot canvas");
if (found.drawn !== found.expected) problems.push(`drew ${found.drawn} of ${found.expected} charts`);
if (found.painted !== found.canvases) problems.push(`${found.canvases - found.painted} blank canvases`);
found.ok = problems.length === 0;
found.problems = problems;
console.log(JSON.stringify(found));
process.exit(found.ok ? 0 : 1);
