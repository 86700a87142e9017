// Node runners that misbehave on purpose, for the containment tests: each
// passes its first iterations, then breaks the way its name says, once per
// process.

import { writeSync } from 'node:fs';

const TARGET = process.env.TARGET;
let iterations = 0;

async function ping({ fetch, check }) {
  const r = await fetch(`${TARGET}/`);
  await r.arrayBuffer();
  check(r.status === 200, 'status 200', 'GET /');
  return ++iterations;
}

/** The process dies (exit 3) on its 5th iteration. */
export async function crash(t) {
  if ((await ping(t)) === 5) process.exit(3);
}

/** The 3rd iteration in each process never ends (the event loop stays free). */
export async function hang(t) {
  if ((await ping(t)) === 3) await new Promise(() => {});
}

/** The process writes a line that is not the protocol on its 5th iteration, straight to
 * stdout's file descriptor (the client keeps console output off it). */
export async function garbage(t) {
  if ((await ping(t)) === 5) writeSync(1, 'this is not JSON\n');
}
