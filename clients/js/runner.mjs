// A runner process (pummel starts it: pummel run --runner node FILE[:EXPORT]).
//
// Speaks the runner protocol (docs/runner-protocol.md), version 1, over
// stdin and stdout; console output goes to stderr, which pummel reads as the
// runner's log. Each VU is an async task with its own context; pummel says
// when each iteration starts, and this process only runs the test function
// and reports what it measured.

import { createInterface } from 'node:readline';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { context } from './index.mjs';

const VERSION = 1;
const CLIENT = 'pummel-node 0.1.0';

// `node -e CODE -- FILE ENTRY` leaves [node, FILE, ENTRY] in process.argv.
export async function main(argv = process.argv.slice(1)) {
  const [file, entry] = argv;
  if (!file) {
    process.stderr.write('usage: pummel starts this itself: pummel run --runner node FILE[:EXPORT]\n');
    process.exit(2);
  }
  // The protocol owns stdout: everything else the test writes goes to stderr.
  const out = process.stdout.write.bind(process.stdout);
  process.stdout.write = process.stderr.write.bind(process.stderr);
  for (const k of ['log', 'info', 'debug']) console[k] = console.error;

  let batch = '';
  let scheduled = false;
  const flush = () => { scheduled = false; if (batch) { const b = batch; batch = ''; out(b); } };
  const send = (line) => {
    batch += line;
    if (batch.length >= 65536) flush();
    else if (!scheduled) { scheduled = true; setImmediate(flush); }
  };

  // The module is imported, not run: a module that runs itself when it is
  // the script (`process.argv[1]`) must not do so here.
  process.argv = [process.argv[0], 'pummel-runner'];
  let test;
  try {
    const module = await import(pathToFileURL(resolve(file)).href);
    const name = entry || (typeof module.default === 'function' ? 'default' : (typeof module.test === 'function' ? 'test' : ''));
    test = module[name];
    if (typeof test !== 'function') {
      const found = Object.keys(module).filter((k) => typeof module[k] === 'function');
      process.stderr.write(`pummel: ${file} exports no test function ${entry ? `named ${entry}` : '(default or test)'}; its functions: ${found.join(', ') || 'none'}\n`);
      process.exit(1);
    }
  } catch (err) {
    process.stderr.write(`pummel: cannot load ${file}: ${err?.stack ?? err}\n`);
    process.exit(1);
  }

  // The runner's hello goes first; pummel's answers it with its clock, read
  // as soon as it is written (this process is waiting for it).
  send(JSON.stringify({ pummel_runner: VERSION, client: CLIENT }) + '\n');
  flush();
  const lines = createInterface({ input: process.stdin, crlfDelay: Infinity })[Symbol.asyncIterator]();
  const first = await lines.next();
  const mark = process.hrtime.bigint();
  let hello;
  try { hello = JSON.parse(first.value ?? ''); } catch { hello = null; }
  if (!hello || hello.pummel_runner !== VERSION) {
    process.stderr.write(`pummel: expected pummel's hello (protocol ${VERSION}), got ${JSON.stringify(String(first.value).slice(0, 200))}\n`);
    process.exit(2);
  }
  const offset = BigInt(hello.clock) - mark;
  const now = () => Number(process.hrtime.bigint() + offset);

  const report = {
    hit: (h) => send(`{"hit":${JSON.stringify(h)}}\n`),
    check: (c) => send(`{"check":${JSON.stringify(c)}}\n`),
    metric: (m) => send(`{"metric":${JSON.stringify(m)}}\n`),
    log: (l) => send(`{"log":${JSON.stringify(l)}}\n`),
  };

  const vus = new Map();
  const running = new Set();
  const describe = (err) => (`${err?.name ?? 'Error'}: ${err?.message ?? err}`).split('\n')[0].slice(0, 500);
  const run = async (vu, iteration) => {
    vu.iteration = iteration;
    vu.steps.length = 0;
    let ok = true;
    let error = null;
    try { await test(vu); } catch (err) { ok = false; error = describe(err); }
    send(JSON.stringify({ end: { vu: vu.vu, iteration, ok, error } }) + '\n');
  };

  for await (const line of lines) {
    let m;
    try { m = JSON.parse(line); } catch { process.stderr.write(`pummel: not a protocol message: ${line.slice(0, 200)}\n`); continue; }
    if (m.start) {
      let vu = vus.get(m.start.vu);
      if (!vu) { vu = context(m.start.vu, report, now); vus.set(m.start.vu, vu); }
      const p = run(vu, m.start.iteration);
      running.add(p);
      p.finally(() => running.delete(p));
    } else if (m.retire) {
      // A hung iteration cannot be cancelled: it is let go of.
      vus.delete(m.retire.vu);
      send(JSON.stringify({ retired: { vu: m.retire.vu } }) + '\n');
    } else if (m.stop) {
      break;
    }
  }
  await Promise.race([Promise.allSettled([...running]), new Promise((r) => setTimeout(r, 2000))]);
  flush();
  process.stdout.write = out;
  process.exit(0);
}
