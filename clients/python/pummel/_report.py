"""Where a VU's measurements go: nowhere outside pummel, to the runner's
output under it. One :class:`Reporter` per process, shared by its VU threads."""

import json
import os
import threading
import time

_reporter = None


def active():
    """True when running under pummel (a runner process)."""
    return _reporter is not None


def reporter():
    return _reporter


def install(rep):
    global _reporter
    _reporter = rep


class Reporter:
    """Writes protocol messages to the protocol's file descriptor.

    Messages are queued as text and written in batches, by a writer thread
    or by whoever queues past the batch size, so a busy VU never waits on a
    system call per hit. Times are on pummel's clock: the hello gave
    pummel's reading ``clock`` (ns) and this process noted its monotonic
    clock when it read it; a time is ``clock + (monotonic_ns() - mark)``.
    """

    BATCH_BYTES = 1 << 16
    FLUSH_EVERY = 0.005

    def __init__(self, fd, clock_ns, mark_ns):
        self._fd = fd
        self._offset = clock_ns - mark_ns
        self._lock = threading.Lock()
        self._queue = []
        self._queued = 0
        self._closed = False
        self._wake = threading.Event()
        self._writer = threading.Thread(target=self._run, name="pummel-writer", daemon=True)
        self._writer.start()

    def now(self):
        """Now, on pummel's clock (ns)."""
        return time.monotonic_ns() + self._offset

    def to_pummel(self, monotonic_ns):
        return monotonic_ns + self._offset

    def send(self, line):
        flush = None
        with self._lock:
            self._queue.append(line)
            self._queued += len(line)
            if self._queued >= self.BATCH_BYTES:
                flush = self._take()
        if flush:
            self._write(flush)

    def _take(self):
        data = "".join(self._queue)
        self._queue = []
        self._queued = 0
        return data

    def _write(self, data):
        buf = data.encode("utf-8")
        # One writer at a time, so lines never interleave.
        with _write_lock:
            while buf:
                n = os.write(self._fd, buf)
                buf = buf[n:]

    def flush(self):
        with self._lock:
            data = self._take() if self._queue else None
        if data:
            self._write(data)

    def _run(self):
        while not self._closed:
            self._wake.wait(self.FLUSH_EVERY)
            self._wake.clear()
            try:
                self.flush()
            except OSError:
                return

    def close(self):
        self.flush()
        self._closed = True
        self._wake.set()

    # Messages ---------------------------------------------------------

    def hit(self, vu, iteration, name, method, url, start_mono, duration, status=None,
            sent=0, received=0, error=None):
        start = start_mono + self._offset
        if error is None:
            tail = '"status":%d' % status if status is not None else '"status":null'
        else:
            tail = '"error":%s' % json.dumps(error)
        self.send(
            '{"hit":{"vu":%d,"iteration":%d,"name":%s,"method":%s,"url":%s,"start":%d,'
            '"duration":%d,"bytes_sent":%d,"bytes_received":%d,%s}}\n'
            % (vu, iteration, json.dumps(name), json.dumps(method), json.dumps(url),
               max(start, 0), max(duration, 0), sent, received, tail)
        )

    def check(self, vu, iteration, step, name, ok):
        self.send(json.dumps({"check": {"vu": vu, "iteration": iteration, "step": step,
                                        "name": name, "ok": bool(ok)}}) + "\n")

    def metric(self, name, kind, value):
        self.send(json.dumps({"metric": {"name": name, "kind": kind, "value": value}}) + "\n")

    def log(self, vu, message):
        self.send(json.dumps({"log": {"vu": vu, "message": message}}) + "\n")

    def end(self, vu, iteration, ok, error=None):
        self.send(json.dumps({"end": {"vu": vu, "iteration": iteration, "ok": ok,
                                      "error": error}}) + "\n")
        # An iteration's end is what pummel waits on: no batching delay.
        self._wake.set()

    def retired(self, vu):
        self.send(json.dumps({"retired": {"vu": vu}}) + "\n")
        self._wake.set()


_write_lock = threading.Lock()
