// The marketplace journey of examples/marketplace.yaml as a Node test
// module: the same three kinds of user (browse 6, publish 1, review 3), the
// same steps and checks, against `pummel target`.
//
//   npm install ./clients/js                # in the directory pummel runs from
//   pummel target &
//   node examples/runners/market.test.mjs   # a plain test (nothing timed)
//   pummel run --runner node examples/runners/market.test.mjs --vus 20 --duration 1m \
//       -e TARGET=http://127.0.0.1:8080     # a load test
//
// TARGET (default http://127.0.0.1:8080) is the marketplace's URL.

import { randomUUID } from 'node:crypto';

const TARGET = (process.env.TARGET ?? 'http://127.0.0.1:8080').replace(/\/$/, '');
const REVIEWS = [[5, 'Does what it says.'], [4, 'Good, a little slow to start.'], [2, 'Crashed twice on the first day.']];
const pick = (items) => items[Math.floor(Math.random() * items.length)];
const randomString = (n) => randomUUID().replaceAll('-', '').slice(0, n);
const json = { accept: 'application/json', 'content-type': 'application/json' };
const basic = (u, p) => ({ ...json, authorization: 'Basic ' + Buffer.from(`${u}:${p}`).toString('base64') });

// Once per process, before any iteration: a seller publishes the app
// reviewers review (the YAML's global setup).
let seedApp;
async function seed() {
  const seller = `seller-${randomString(10)}`;
  const password = randomString(16);
  let r = await fetch(`${TARGET}/api/register`, { method: 'POST', headers: json, body: JSON.stringify({ username: seller, password }) });
  if (r.status !== 201) throw new Error(`seller register: ${r.status}`);
  r = await fetch(`${TARGET}/api/login`, { method: 'POST', headers: basic(seller, password) });
  const cookie = r.headers.get('set-cookie')?.split(';')[0];
  r = await fetch(`${TARGET}/api/apps`, {
    method: 'POST', headers: { ...json, cookie },
    body: JSON.stringify({ name: `Seed app ${randomUUID()}`, category: 'games', description: 'The app every review scenario reviews.' }),
  });
  if (r.status !== 201) throw new Error(`seed app: ${r.status}`);
  return (await r.json()).id;
}

// Per VU: its account and session cookie (Node's fetch keeps no cookie jar).
const users = new WeakMap();
async function login(t) {
  let u = users.get(t);
  if (u?.cookie) return u;
  u = { username: `user-${randomString(12)}`, password: randomString(16) };
  users.set(t, u);
  await t.step('register', async () => {
    const r = await t.fetch(`${TARGET}/api/register`, { method: 'POST', headers: json, body: JSON.stringify({ username: u.username, password: u.password }) });
    t.check(r.status === 201 || r.status === 409, 'status in [201, 409]');
  });
  await t.step('login', async () => {
    const r = await t.fetch(`${TARGET}/api/login`, { method: 'POST', headers: basic(u.username, u.password) });
    t.check(r.status >= 200 && r.status < 300, 'status 2xx');
    if (r.status >= 300) throw new Error(`login failed: ${r.status}`);
    u.cookie = r.headers.get('set-cookie')?.split(';')[0];
  });
  return u;
}

async function browse(t) {
  await t.step('search', async () => {
    const r = await t.fetch(`${TARGET}/api/apps?q=${pick(['chess', 'notes', 'synth', 'seed'])}`, { headers: json });
    t.check(r.status === 200, 'status 200');
    t.check('items' in await r.json(), '$.items exists');
  });
  const appId = await t.step('category', async () => {
    const r = await t.fetch(`${TARGET}/api/apps?category=games`, { headers: json });
    t.check(r.status === 200, 'status 200');
    return (await r.json()).items[0].id;
  });
  await t.step('app page', async () => {
    const r = await t.fetch(`${TARGET}/api/apps/${appId}`, { headers: json });
    t.check(r.status === 200, 'status 200');
    t.check(String((await r.json()).id) === String(appId), '$.id equals app_id');
  });
  await t.step('app reviews', async () => {
    const r = await t.fetch(`${TARGET}/api/apps/${appId}/reviews`, { headers: json });
    t.check(r.status === 200, 'status 200');
    t.check('items' in await r.json(), '$.items exists');
  });
}

async function publish(t) {
  const u = await login(t);
  const myApp = await t.step('publish app', async () => {
    const r = await t.fetch(`${TARGET}/api/apps`, {
      method: 'POST', headers: { ...json, cookie: u.cookie },
      body: JSON.stringify({ name: `${u.username}'s app ${randomString(6)}`, category: pick(['games', 'tools', 'music']), description: 'Published by a pummel virtual user.' }),
    });
    t.check(r.status === 201, 'status 201');
    const id = (await r.json()).id;
    t.check(id !== undefined, '$.id exists');
    return id;
  });
  await t.step('my app', async () => {
    const r = await t.fetch(`${TARGET}/api/apps/${myApp}`, { headers: json });
    t.check(r.status === 200, 'status 200');
    t.check(String((await r.json()).id) === String(myApp), '$.id equals my_app');
  });
}

async function review(t) {
  const u = await login(t);
  seedApp ??= seed();
  const app = await seedApp;
  await t.step('post review', async () => {
    const [rating, text] = pick(REVIEWS);
    const r = await t.fetch(`${TARGET}/api/apps/${app}/reviews`, { method: 'POST', headers: { ...json, cookie: u.cookie }, body: JSON.stringify({ rating, text }) });
    t.check(r.status === 201, 'status 201');
  });
  await t.step('read reviews', async () => {
    const r = await t.fetch(`${TARGET}/api/apps/${app}/reviews`, { headers: json });
    t.check(r.status === 200, 'status 200');
    t.check('items' in await r.json(), '$.items exists');
  });
  t.metric('reviews posted');
}

/** One user's iteration: browse, publish or review, weighted 6:1:3. */
export default async function journey(t) {
  await pick([browse, browse, browse, browse, browse, browse, publish, review, review, review])(t);
}

export { browse, publish, review };

// Run directly (`node market.test.mjs`): each kind of user once, as a plain
// test — nothing timed, a failed check throws.
if (import.meta.url === `file://${process.argv[1]}`) {
  const plain = () => ({
    fetch, step: async (_name, fn) => fn(), metric: () => {}, log: () => {},
    check: (ok, name) => { if (!ok) throw new Error(`check failed: ${name}`); return true; },
  });
  for (const f of [browse, publish, review]) await f(plain());
  console.log('ok: browse, publish, review');
}
