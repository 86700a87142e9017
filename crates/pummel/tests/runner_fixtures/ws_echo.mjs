// A WebSocket journey for the runner tests: `ws(url)` against the target's
// echo, three timed round trips per iteration, each checked.

const ECHO = process.env.TARGET.replace('http://', 'ws://') + '/ws/echo';

export async function echo({ ws, check }) {
  const socket = await ws(ECHO);
  try {
    for (let i = 0; i < 3; i++) {
      const message = `hello ${i}`;
      check((await socket.ask(message)) === message, 'echoed', 'WS /ws/echo ask');
    }
  } finally {
    socket.close();
  }
}
