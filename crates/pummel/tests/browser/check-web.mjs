// The service toured in headless Chromium as a person would, against a running `pummel server`
// with one agent, checking what they would see at each step:
//
// - sign in; start a run from the new-run form with a scenario file chosen as a person would (the
//   earlier run of the comparison); follow it to its end;
// - register a git repository (a path on the server: the user is an admin) on the repositories
//   page; its `pummel.yml`'s tests are listed, and the broken one's problem is shown with
//   file:line:col; start the good test from its Run button and follow the run from the page it
//   lands on (queued, then live): the live chart's uPlot data grows point by point from the event
//   stream; the runs list (htmx) and the agents page show it running and the agent busy, then the
//   run passed and the agent idle, without a reload; its report opens; it compares with the
//   earlier run;
// - a form posted without its CSRF token is refused (403) and starts nothing; another user is
//   refused the run, its report and the repository, and cannot stop the run;
// - axe-core finds no serious or critical violation on any page, at 375x667 and at 1280x900;
// - nothing was logged as an error and no script threw; no request left the server's origin;
// - screenshots of each step, when a directory is given.
//
// Usage: node check-web.mjs URL USER PASSWORD OTHER_USER OTHER_PASSWORD REPO_DIR REPO_TEST SCENARIO_FILE [SHOTS_DIR]
// USER must be an admin (a repository at a local path is an admin's). REPO_DIR is a git repository
// whose pummel.yml lists REPO_TEST and a second test with a problem; SCENARIO_FILE a scenario.
// Environment: CHROMIUM (default /usr/bin/chromium).
// Prints one JSON line with what it found; exits 1 when a check fails, 2 on bad usage.
import { chromium } from "playwright-core";
import { readFileSync, mkdirSync } from "node:fs";
import { createRequire } from "node:module";
import path from "node:path";

const [base, user, password, otherUser, otherPassword, repoDir, repoTest, scenarioFile, shots] =
  process.argv.slice(2);
if (!scenarioFile) {
  console.error("usage: node check-web.mjs URL USER PASSWORD OTHER_USER OTHER_PASSWORD REPO_DIR REPO_TEST SCENARIO_FILE [SHOTS_DIR]");
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

// A check that waits for `locator` to appear, true if it did.
function appears(locator, timeout = 15000) {
  return locator.waitFor({ timeout }).then(() => true, () => false);
}

// The run a page shows, from its live part's event stream URL (`/runs/ID/events`): the same
// whether the page is the run's own or a job's page that became live.
async function runOf(page) {
  await page.locator("#live").waitFor({ timeout: 60000 });
  const events = await page.getAttribute("#live", "data-events");
  return events.split("/")[2];
}

// Follows a run on `page` until it ends; its final state.
async function ended(page) {
  await page.locator("#live[data-ended]").waitFor({ timeout: 60000 });
  return page.getAttribute("#live", "data-ended");
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

  // 1. A run from the new-run form, the scenario file chosen as a person would: the earlier run
  //    that the repository's run is compared with.
  await page.goto(`${base}/runs/new`);
  await audit(page, "new run", "new-run");
  await page.setInputFiles("#file", scenarioFile);
  await page.waitForFunction(() => document.getElementById("scenario").value.includes("scenarios"));
  await page.getByLabel("How many").fill("1");
  await page.getByLabel("Duration").fill("1s");
  await page.getByRole("button", { name: "Start the run" }).click();
  const earlier = await runOf(page);
  found.earlier = earlier;
  check("form run finished", (await ended(page)) === "finished");
  // The form queued it: the jobs page lists it as a web job that led to that run.
  await page.goto(`${base}/jobs`);
  const job = page.locator("#jobs tr", { has: page.locator(`a[href="/runs/${earlier}"]`) });
  check("the form's run is a queued web job", await appears(job));
  check("the job says where it came from", (await job.innerText().catch(() => "")).includes("web"));
  await audit(page, "jobs", "jobs");

  // 2. Register the repository; its tests are discovered, the broken one's problem located.
  await page.goto(`${base}/repos`);
  await page.getByLabel("Name").fill("shop");
  await page.getByLabel(/^Git URL/).fill(repoDir);
  await page.getByLabel("Branch").fill("main");
  await page.getByRole("button", { name: "Register the repository" }).click();
  await page.waitForURL(`${base}/repos`);
  check("repository registered", await appears(page.locator("#webhook-secret")));
  check("its test discovered", await appears(page.locator("#tests tr", { hasText: repoTest })));
  const problems = await page.locator("#problems").innerText().catch(() => "");
  found.problems = problems;
  check("a broken test's problem at file:line:col", /\.ya?ml:\d+:\d+: /.test(problems), problems);
  await audit(page, "repository (registered)", "repo");
  await page.goto(`${base}/repos`);
  check("the list shows it", await appears(page.locator("#repos tr", { hasText: "shop" })));
  await audit(page, "repositories", "repos");

  // The runs list and the agents page in tabs of their own, left open: htmx keeps them live.
  const list = await context.newPage();
  watch(list);
  await list.goto(`${base}/runs`);
  const agents = await context.newPage();
  watch(agents);
  await agents.goto(`${base}/agents`);

  // 3. Start the test from its Run button (once the agent is free again); follow it from the page it lands on (a queued job's
  //    page turns live when the run starts).
  await agents.locator("#agents tr", { hasText: "w1" }).filter({ hasText: "idle" }).waitFor({ timeout: 15000 });
  await page.goto(`${base}/repos/shop`);
  await page.getByRole("button", { name: `Run ${repoTest}` }).click();
  found.landed = new URL(page.url()).pathname;
  const run = await runOf(page);
  found.run = run;

  // The live chart receives new points: the data uPlot itself holds (what it draws) grows while
  // the run lasts, fed by the event stream.
  const plotted = () => {
    const plots = document.getElementById("live").plots;
    return plots ? plots.rate.data[0].length : 0;
  };
  await page.waitForFunction(plotted, null, { timeout: 30000, polling: 100 });
  const first = await page.evaluate(plotted);
  // (A function, not a string: the page's policy forbids eval.)
  await page.waitForFunction((n) => {
    const plots = document.getElementById("live").plots;
    return plots && plots.rate.data[0].length > n;
  }, first, { timeout: 30000, polling: 100 });
  const second = await page.evaluate(plotted);
  const running = await page.locator("#state").innerText();
  found.points.push(first, second);
  check("live chart receives new points", first >= 1 && second > first, { first, second });
  check("the page says it runs", running === "running", running);
  check("agent busy with the run", await appears(agents.locator("#agents tr", { hasText: run }).filter({ hasText: "busy" })));
  check("runs list shows it running", await appears(list.locator("#runs tr", { hasText: run }).filter({ hasText: "running" })));
  if (shots) await page.screenshot({ path: path.join(shots, "run-live-desktop.png"), fullPage: true });
  if (shots) await agents.screenshot({ path: path.join(shots, "agents-busy-desktop.png"), fullPage: true });
  await audit(page, "live run", null);

  // 4. It passes: the page says so without a reload, the agent is idle again, the list updated.
  found.ended = await ended(page);
  check("run finished", found.ended === "finished", found.ended);
  const verdict = await page.locator("#verdict").innerText();
  check("the page says it passed", verdict === "passed" && (await page.locator("#exit").innerText()) === "0", verdict);
  check("agent idle again", await appears(agents.locator("#agents tr", { hasText: "w1" }).filter({ hasText: "idle" })));
  check("runs list shows it finished", await appears(list.locator("#runs tr", { hasText: run }).filter({ hasText: "finished" })));
  if (shots) await agents.screenshot({ path: path.join(shots, "agents-desktop.png"), fullPage: true });
  await audit(agents, "agents", null);
  await audit(list, "runs (live)", null);

  // 5. Its report, then a comparison with the earlier run.
  await page.getByRole("link", { name: "Open the report" }).click();
  await page.waitForURL(`${base}/runs/${run}/report`);
  check("report drawn", await appears(page.locator("body[data-charts-drawn]")));
  if (shots) await page.screenshot({ path: path.join(shots, "report-desktop.png") });
  await page.goto(`${base}/runs/${run}`);
  await audit(page, "finished run", "run-finished");
  await page.selectOption("#base", earlier);
  await page.getByRole("button", { name: "Compare" }).click();
  await page.waitForURL(/\/compare\?/);
  check("compare opens", page.url().includes(`base=${earlier}`) && (await page.content()).includes(earlier), page.url());
  if (shots) await page.screenshot({ path: path.join(shots, "compare-desktop.png") });
  await page.goto(`${base}/repos/shop`);
  check("the repository lists its run", await appears(page.locator("#repo-runs tr", { hasText: run })));

  await page.goto(`${base}/profile`);
  await audit(page, "profile", "profile");

  // 6. Forms without their CSRF token, sent with the session's cookie, are refused and do nothing.
  const forged = await context.request.post(`${base}/profile/tokens`, { form: { label: "forged" }, maxRedirects: 0 });
  check("CSRF-less form refused", forged.status() === 403, forged.status());
  const forgedRun = await context.request.post(`${base}/repos/shop/tests/${repoTest}/run`, { form: {}, maxRedirects: 0 });
  check("CSRF-less test start refused", forgedRun.status() === 403, forgedRun.status());
  await page.goto(`${base}/repos/shop`);
  check("and it started nothing", (await page.locator("#repo-runs tbody tr").count()) === 1);

  // 7. Another user is refused the run, its report, the repository; the stop button too.
  const other = await browser.newContext({ viewport: DESKTOP });
  const otherPage = await signIn(other, otherUser, otherPassword);
  // (A page of its own, unwatched: the refusals are the 403s the browser logs.)
  const probe = await other.newPage();
  const refusals = {};
  for (const p of [`/runs/${run}`, `/runs/${run}/report`, "/repos/shop"]) {
    refusals[p] = (await probe.goto(`${base}${p}`)).status();
  }
  const otherCsrf = await otherPage.locator("input[name=csrf]").first().getAttribute("value");
  refusals.stop = (await other.request.post(`${base}/runs/${run}/stop`, { form: { csrf: otherCsrf }, maxRedirects: 0 })).status();
  refusals.start = (await other.request.post(`${base}/repos/shop/tests/${repoTest}/run`, { form: { csrf: otherCsrf }, maxRedirects: 0 })).status();
  check("another user refused", Object.values(refusals).every((s) => s === 403 || s === 404), refusals);
  await otherPage.goto(`${base}/runs`);
  check("another user's list leaves it out", !(await otherPage.content()).includes(run));
  await otherPage.goto(`${base}/repos`);
  check("another user's repositories leave it out", !(await otherPage.locator("#repos").innerText()).includes("shop"));

  const failed = Object.entries(found.checks).filter(([, v]) => v !== true);
  status = failed.length || found.errors.length || found.offsite.length || found.violations.length ? 1 : 0;
} catch (e) {
  found.errors.push(`harness: ${e.stack || e}`);
} finally {
  await browser.close();
}
console.log(JSON.stringify(found));
process.exit(status);
