// Drives the web UI of a running `pummel server` in headless Chromium as a person would, and
// checks what they would see:
//
// - sign in; start a run from the new-run form; the live chart receives new points each second;
//   the runs list (htmx) and the agents page show it running and the agent busy, then finished
//   and idle, without a reload; the report opens; the run compares with an earlier one;
// - a form posted without its CSRF token is refused (403); another user is refused the run;
// - axe-core finds no serious or critical violation on any page, at 375×667 and at 1280×900;
// - nothing was logged as an error and no script threw; no request left the server's origin;
// - screenshots of the pages, when a directory is given.
//
// Usage: node check-web.mjs URL USER PASSWORD OTHER_USER OTHER_PASSWORD SCENARIO_FILE EARLIER_RUN [SHOTS_DIR]
// Environment: CHROMIUM (default /usr/bin/chromium).
// Prints one JSON line with what it found; exits 1 when a check fails, 2 on bad usage.
import { chromium } from "playwright-core";
import { readFileSync, mkdirSync } from "node:fs";
import { createRequire } from "node:module";
import path from "node:path";

const [base, user, password, otherUser, otherPassword, scenarioFile, earlier, shots] =
  process.argv.slice(2);
if (!earlier) {
  console.error("usage: node check-web.mjs URL USER PASSWORD OTHER_USER OTHER_PASSWORD SCENARIO_FILE EARLIER_RUN [SHOTS_DIR]");
  process.exit(2);
}
const axeSource = readFileSync(createRequire(import.meta.url).resolve("axe-core/axe.min.js"), "utf8");
const origin = new URL(base).origin;
if (shots) mkdirSync(shots, { recursive: true });

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
  headless: true,
  args: ["--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking",
         "--disable-component-update", "--disable-sync"],
});

const found = { errors: [], offsite: [], violations: [], checks: {}, points: [], axe_pages: 0 };
const DESKTOP = { width: 1280, height: 900 };
const PHONE = { width: 375, height: 667 };

function watch(page) {
  page.on("console", (m) => { if (m.type() === "error") found.errors.push(`console ${page.url()}: ${m.text()}`); });
  page.on("pageerror", (e) => found.errors.push(`uncaught ${page.url()}: ${e.message}`));
  page.on("request", (r) => { if (!r.url().startsWith(origin) && !/^(data|blob|about):/.test(r.url())) found.offsite.push(r.url()); });
}

// Runs axe-core on the page (evaluated over the DevTools protocol, so the page's own
// script-src policy does not have to admit it) and keeps serious and critical violations.
async function axe(page, label) {
  await page.evaluate(axeSource);
  const result = await page.evaluate(() => window.axe.run(document, { resultTypes: ["violations"] }));
  found.axe_pages += 1;
  for (const v of result.violations) {
    if (v.impact === "serious" || v.impact === "critical") {
      found.violations.push({ page: label, id: v.id, impact: v.impact, help: v.help,
                              nodes: v.nodes.slice(0, 3).map((n) => n.target.join(" ")) });
    }
  }
}

async function audit(page, label, shot) {
  for (const [size, viewport] of [["desktop", DESKTOP], ["phone", PHONE]]) {
    await page.setViewportSize(viewport);
    await axe(page, `${label} at ${size}`);
    if (shots && shot) await page.screenshot({ path: path.join(shots, `${shot}-${size}.png`), fullPage: size === "phone" ? false : true });
  }
  await page.setViewportSize(DESKTOP);
}

async function signIn(context, name, secret) {
  const page = await context.newPage();
  watch(page);
  await page.goto(`${base}/login`);
  await page.getByLabel("User name").fill(name);
  await page.getByLabel("Password").fill(secret);
  await page.getByRole("button", { name: "Sign in" }).click();
  await page.waitForURL(`${base}/runs`);
  return page;
}

function check(name, ok, detail) {
  found.checks[name] = ok ? true : (detail ?? false);
}

let status = 1;
try {
  const context = await browser.newContext({ viewport: DESKTOP, deviceScaleFactor: 1 });
  const login = await context.newPage();
  watch(login);
  await login.goto(`${base}/login`);
  await audit(login, "sign-in", "login");
  await login.close();
  const page = await signIn(context, user, password);
  await audit(page, "runs", "runs");

  // The runs list and the agents page in tabs of their own, left open: htmx keeps them live.
  const list = await context.newPage();
  watch(list);
  await list.goto(`${base}/runs`);
  const agents = await context.newPage();
  watch(agents);
  await agents.goto(`${base}/agents`);

  // A run from the form, with the scenario file chosen as a person would.
  await page.goto(`${base}/runs/new`);
  await audit(page, "new run", "new-run");
  await page.setInputFiles("#file", scenarioFile);
  await page.waitForFunction(() => document.getElementById("scenario").value.includes("scenarios"));
  await page.getByLabel("How many").fill("1");
  await page.getByLabel("Duration").fill("4s");
  await page.getByRole("button", { name: "Start the run" }).click();
  await page.waitForURL(/\/runs\/[^/]+$/);
  const run = page.url().split("/").pop();
  found.run = run;

  // The live chart receives new points: the count grows while the run lasts.
  await page.waitForFunction(() => Number(document.getElementById("live").dataset.points || 0) >= 1, null, { timeout: 30000 });
  const first = Number(await page.getAttribute("#live", "data-points"));
  await page.waitForFunction((n) => Number(document.getElementById("live").dataset.points) > n, first, { timeout: 30000 });
  const second = Number(await page.getAttribute("#live", "data-points"));
  found.points.push(first, second);
  check("live chart receives new points", second > first, { first, second });
  check("agent busy with the run", await agents.locator("#agents tr", { hasText: run }).filter({ hasText: "busy" })
    .waitFor({ timeout: 15000 }).then(() => true, () => false));
  check("runs list shows it running", await list.locator("#runs tr", { hasText: run }).filter({ hasText: "running" })
    .waitFor({ timeout: 15000 }).then(() => true, () => false));
  if (shots) await page.screenshot({ path: path.join(shots, "run-live-desktop.png"), fullPage: true });
  await audit(page, "live run", null);

  // It ends: the page says so without a reload, the agent is idle again, the list updated.
  await page.waitForFunction(() => document.getElementById("live").dataset.ended, null, { timeout: 60000 });
  found.ended = await page.getAttribute("#live", "data-ended");
  check("run finished", found.ended === "finished", found.ended);
  check("agent idle again", await agents.locator("#agents tr", { hasText: "w1" }).filter({ hasText: "idle" })
    .waitFor({ timeout: 15000 }).then(() => true, () => false));
  check("runs list shows it finished", await list.locator("#runs tr", { hasText: run }).filter({ hasText: "finished" })
    .waitFor({ timeout: 15000 }).then(() => true, () => false));
  if (shots) await agents.screenshot({ path: path.join(shots, "agents-desktop.png"), fullPage: true });
  await audit(agents, "agents", null);
  await audit(list, "runs (live)", null);

  // Its report, then a comparison with the earlier run.
  await page.getByRole("link", { name: "Open the report" }).click();
  await page.waitForURL(`${base}/runs/${run}/report`);
  await page.waitForFunction(() => document.body.hasAttribute("data-charts-drawn"), null, { timeout: 15000 });
  check("report drawn", true);
  if (shots) await page.screenshot({ path: path.join(shots, "report-desktop.png") });
  await page.goto(`${base}/runs/${run}`);
  await audit(page, "finished run", "run-finished");
  await page.selectOption("#base", earlier);
  await page.getByRole("button", { name: "Compare" }).click();
  await page.waitForURL(/\/compare\?/);
  check("compare opens", (await page.title()).length > 0 && page.url().includes(`base=${earlier}`), page.url());
  if (shots) await page.screenshot({ path: path.join(shots, "compare-desktop.png") });

  await page.goto(`${base}/profile`);
  await audit(page, "profile", "profile");

  // A form without its CSRF token, sent with the session's cookie, is refused.
  const forged = await context.request.post(`${base}/profile/tokens`, { form: { label: "forged" }, maxRedirects: 0 });
  check("CSRF-less form refused", forged.status() === 403, forged.status());

  // Another user is refused the run.
  const other = await browser.newContext({ viewport: DESKTOP });
  const otherPage = await signIn(other, otherUser, otherPassword);
  // (A page of its own, unwatched: the refusal is the 403 the browser logs.)
  const probe = await other.newPage();
  const refused = await probe.goto(`${base}/runs/${run}`);
  check("another user refused", refused.status() === 403, refused.status());
  await otherPage.goto(`${base}/runs`);
  check("another user's list leaves it out", !(await otherPage.content()).includes(run));

  const failed = Object.entries(found.checks).filter(([, v]) => v !== true);
  status = failed.length || found.errors.length || found.offsite.length || found.violations.length ? 1 : 0;
} catch (e) {
  found.errors.push(`harness: ${e.stack || e}`);
} finally {
  await browser.close();
}
console.log(JSON.stringify(found));
process.exit(status);
