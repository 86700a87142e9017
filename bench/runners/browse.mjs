// The marketplace's browse journey for bench/runners.sh (see browse.py).
const TARGET = process.env.TARGET.replace(/\/$/, '');
const pick = (a) => a[Math.floor(Math.random() * a.length)];

export default async function browse(t) {
  await t.step('search', async () => {
    const r = await t.fetch(`${TARGET}/api/apps?q=${pick(['chess', 'notes', 'synth', 'seed'])}`);
    t.check(r.status === 200, 'status 200');
    t.check('items' in await r.json(), '$.items exists');
  });
  const id = await t.step('category', async () => {
    const r = await t.fetch(`${TARGET}/api/apps?category=games`);
    t.check(r.status === 200, 'status 200');
    return (await r.json()).items[0].id;
  });
  await t.step('app page', async () => {
    const r = await t.fetch(`${TARGET}/api/apps/${id}`);
    t.check(r.status === 200, 'status 200');
  });
  await t.step('app reviews', async () => {
    const r = await t.fetch(`${TARGET}/api/apps/${id}/reviews`);
    t.check(r.status === 200, 'status 200');
    t.check('items' in await r.json(), '$.items exists');
  });
}
