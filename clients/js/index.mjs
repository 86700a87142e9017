// pummel's Node client: what a test function receives (see runner.mjs).
//
// A test module exports `async function test({ fetch, ws, step, check,
// metric, log, vu, iteration })` (or a default export, or any named one
// given as FILE:NAME). Outside pummel, `plain()` gives the same context with
// nothing timed, so the module can run as an ordinary test.

import { WebSocket as WsSocket } from 'ws';

/** The pummel error kind of a failed fetch or socket. */
export function errorKind(err) {
  const code = err?.cause?.code ?? err?.code ?? '';
  const name = err?.name ?? '';
  if (code === 'ECONNREFUSED') return 'connect_refused';
  if (code === 'ECONNRESET') return 'reset';
  if (code === 'UND_ERR_CONNECT_TIMEOUT') return 'connect_timeout';
  if (name === 'TimeoutError' || name === 'AbortError' || code === 'UND_ERR_HEADERS_TIMEOUT' || code === 'UND_ERR_BODY_TIMEOUT') return 'timeout';
  if (code === 'UND_ERR_SOCKET' || code === 'UND_ERR_CLOSED') return 'closed';
  if (code.startsWith?.('ERR_TLS') || code.startsWith?.('CERT_')) return 'tls';
  if (name === 'TypeError' && /invalid url/i.test(err?.message ?? '')) return 'invalid_request';
  if (code) return 'connect_error';
  return 'io';
}

/**
 * A VU's context. `report(kind, fields)` sends a message (under pummel) or
 * is null (outside it: nothing is timed, a failed check throws).
 */
export function context(vuId, report, now) {
  const ctx = { vu: vuId, iteration: 0, steps: [] };
  const current = (fallback) => ctx.steps.length ? ctx.steps[ctx.steps.length - 1] : fallback;

  ctx.fetch = async (input, init = {}) => {
    if (!report) return fetch(input, init);
    const url = typeof input === 'string' ? input : (input.url ?? String(input));
    const method = (init.method ?? input.method ?? 'GET').toUpperCase();
    const name = current(`${method} ${new URL(url).pathname}`);
    const body = init.body;
    const sent = typeof body === 'string' ? Buffer.byteLength(body) : (body?.byteLength ?? 0);
    const iteration = ctx.iteration;
    const start = now();
    let response, bytes;
    try {
      response = await fetch(input, init);
      // The body is read here, so its time is the response's.
      bytes = await response.arrayBuffer();
    } catch (err) {
      report.hit({ vu: vuId, iteration, name, method, url, start, duration: now() - start, bytes_sent: sent, error: errorKind(err) });
      throw err;
    }
    report.hit({ vu: vuId, iteration, name, method, url, start, duration: now() - start, status: response.status, bytes_sent: sent, bytes_received: bytes.byteLength });
    return new Response(response.status === 204 || response.status === 304 ? null : bytes, {
      status: response.status, statusText: response.statusText, headers: response.headers,
    });
  };

  ctx.ws = async (url, options = {}) => {
    const path = new URL(url).pathname || '/';
    const timed = async (name, method, fn, sent = 0) => {
      if (!report) return fn();
      const iteration = ctx.iteration;
      const start = now();
      try {
        const out = await fn();
        report.hit({ vu: vuId, iteration, name, method, url, start, duration: now() - start, ...(method === 'GET' ? { status: 101 } : {}), bytes_sent: sent });
        return out;
      } catch (err) {
        report.hit({ vu: vuId, iteration, name, method, url, start, duration: now() - start, bytes_sent: sent, error: errorKind(err) });
        throw err;
      }
    };
    const socket = await timed(current(`WS ${path}`), 'GET', () => new Promise((resolve, reject) => {
      const s = new WsSocket(url, options);
      s.once('open', () => resolve(s));
      s.once('error', (e) => reject(e));
    }));
    const inbox = [];
    const waiting = [];
    socket.on('message', (data, isBinary) => {
      const m = isBinary ? data : data.toString();
      const w = waiting.shift();
      if (w) w.resolve(m); else inbox.push(m);
    });
    socket.on('close', () => { for (const w of waiting.splice(0)) w.reject(Object.assign(new Error('WebSocket closed'), { code: 'ws_closed' })); });
    const next = () => inbox.length ? Promise.resolve(inbox.shift()) : new Promise((resolve, reject) => waiting.push({ resolve, reject }));
    return {
      send: (m) => socket.send(m),
      next,
      /** Sends `m` and resolves with the next message; the round trip is a hit. */
      ask: (m, name) => timed(name ?? current(`WS ${path} ask`), 'WS', () => { socket.send(m); return next(); }, m.length ?? 0),
      close: () => socket.close(),
    };
  };

  ctx.step = async (name, fn) => {
    ctx.steps.push(name);
    try { return await fn(); } finally { ctx.steps.pop(); }
  };

  ctx.check = (ok, name, step) => {
    if (!report) {
      if (!ok) throw new Error(`check failed: ${name}`);
      return !!ok;
    }
    report.check({ vu: vuId, iteration: ctx.iteration, step: step ?? current('(checks)'), name, ok: !!ok });
    return !!ok;
  };

  ctx.metric = (name, value = 1, kind = 'counter') => {
    if (!['counter', 'gauge', 'trend'].includes(kind)) throw new Error(`metric kind must be counter, gauge or trend, not ${kind}`);
    if (report) report.metric({ name, kind, value: Number(value) });
  };

  ctx.log = (message) => { if (report) report.log({ vu: vuId, message: String(message) }); };
  return ctx;
}

/** A context with nothing timed: for running a test module as a plain test. */
export function plain() {
  return context(0, null, () => 0);
}
