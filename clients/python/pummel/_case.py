"""``pummel.TestCase``: a unittest.TestCase whose session and WebSockets are
timed under pummel and plain outside it."""

import contextlib
import errno
import time
import unittest
from urllib.parse import urlsplit

import requests

from . import _report


class _Vu:
    """Which VU and iteration a test instance is running, under pummel."""

    __slots__ = ("id", "iteration", "steps")

    def __init__(self, vu_id):
        self.id = vu_id
        self.iteration = 0
        self.steps = []


def _error_kind(exc):
    """The pummel error kind of a failed request."""
    if isinstance(exc, requests.exceptions.ConnectTimeout):
        return "connect_timeout"
    if isinstance(exc, requests.exceptions.Timeout):
        return "timeout"
    if isinstance(exc, requests.exceptions.SSLError):
        return "tls"
    if isinstance(exc, requests.exceptions.ConnectionError):
        cause = exc
        while cause is not None:
            if isinstance(cause, ConnectionRefusedError) or getattr(cause, "errno", None) == errno.ECONNREFUSED:
                return "connect_refused"
            if isinstance(cause, ConnectionResetError):
                return "reset"
            nxt = cause.args[0] if cause.args and isinstance(cause.args[0], BaseException) else None
            cause = cause.__cause__ or cause.__context__ or nxt
        text = str(exc)
        if "Connection refused" in text:
            return "connect_refused"
        if "reset" in text.lower():
            return "reset"
        return "connect_error"
    if isinstance(exc, (requests.exceptions.InvalidURL, requests.exceptions.MissingSchema,
                        requests.exceptions.InvalidSchema)):
        return "invalid_request"
    return "io"


def _request_bytes(prepared):
    """Bytes of the request as sent: request line, headers, body."""
    url = urlsplit(prepared.url)
    target = url.path or "/"
    if url.query:
        target += "?" + url.query
    head = len(prepared.method) + len(target) + 12
    for k, v in prepared.headers.items():
        head += len(k) + len(str(v)) + 4
    body = prepared.body
    if body is None:
        size = 0
    elif isinstance(body, (bytes, str)):
        size = len(body)
    else:
        size = 0
    return head + 2 + size


class TimedSession(requests.Session):
    """A requests.Session whose every request is reported as a hit of the
    current step (``self.step(...)``) or, outside any, of ``METHOD /path``."""

    def __init__(self, case):
        super().__init__()
        self._case = case

    def send(self, request, **kwargs):
        rep = _report.reporter()
        vu = self._case._pummel_vu
        if rep is None or vu is None:
            return super().send(request, **kwargs)
        name = vu.steps[-1] if vu.steps else "%s %s" % (request.method, urlsplit(request.url).path or "/")
        sent = _request_bytes(request)
        start = time.monotonic_ns()
        try:
            response = super().send(request, **kwargs)
            # The body is read here, so its time is the response's.
            received = len(response.content)
        except Exception as exc:
            rep.hit(vu.id, vu.iteration, name, request.method, request.url, start,
                    time.monotonic_ns() - start, sent=sent, error=_error_kind(exc))
            raise
        end = time.monotonic_ns()
        head = sum(len(k) + len(v) + 4 for k, v in response.headers.items()) + 17
        rep.hit(vu.id, vu.iteration, name, request.method, request.url, start, end - start,
                status=response.status_code, sent=sent, received=received + head)
        return response


class TimedWebSocket:
    """A WebSocket (websocket-client) whose connect and ``ask`` round trips
    are timed; ``send``/``recv`` pass through."""

    def __init__(self, case, url, **options):
        import websocket  # websocket-client

        self._case = case
        self.url = url
        name = "WS " + (urlsplit(url).path or "/")
        with case._timed(name, "GET", url):
            self._ws = websocket.create_connection(url, **options)

    def send(self, message):
        return self._ws.send(message)

    def recv(self):
        return self._ws.recv()

    def ask(self, message, step=None):
        """Sends ``message`` and returns the next message; the round trip is a hit."""
        name = step or ("WS " + (urlsplit(self.url).path or "/") + " ask")
        with self._case._timed(name, "WS", self.url, sent=len(message)):
            self._ws.send(message)
            return self._ws.recv()

    def close(self):
        self._ws.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


class TestCase(unittest.TestCase):
    """A unittest.TestCase that pummel can run as a virtual user."""

    _pummel_vu = None

    @property
    def session(self):
        """The VU's HTTP session (cookies and connections kept across iterations)."""
        s = self.__dict__.get("_pummel_session")
        if s is None:
            s = TimedSession(self)
            self.__dict__["_pummel_session"] = s
        return s

    def ws(self, url, **options):
        """A WebSocket to ``url``: its connect and ``ask`` round trips are timed."""
        return TimedWebSocket(self, url, **options)

    @contextlib.contextmanager
    def step(self, name):
        """Reports the requests made inside under ``name``."""
        vu = self._pummel_vu
        if vu is None:
            yield
            return
        vu.steps.append(name)
        try:
            yield
        finally:
            vu.steps.pop()

    def check(self, ok, name, step=None):
        """Records a check. Under pummel it is counted (pass or fail) and the
        iteration goes on; outside, a failed check fails the test."""
        vu = self._pummel_vu
        rep = _report.reporter()
        if rep is None or vu is None:
            if not ok:
                self.fail("check failed: %s" % name)
            return bool(ok)
        if step is None:
            step = vu.steps[-1] if vu.steps else "(checks)"
        rep.check(vu.id, vu.iteration, step, name, ok)
        return bool(ok)

    def metric(self, name, value=1, kind="counter"):
        """Adds to a custom metric: ``counter`` (summed), ``gauge`` (a level)
        or ``trend`` (a distribution, in milliseconds)."""
        if kind not in ("counter", "gauge", "trend"):
            raise ValueError("metric kind must be counter, gauge or trend, not %r" % (kind,))
        rep = _report.reporter()
        if rep is not None and self._pummel_vu is not None:
            rep.metric(name, kind, float(value))

    def log(self, message):
        """A log line: pummel keeps the last few to explain failures."""
        rep = _report.reporter()
        if rep is not None and self._pummel_vu is not None:
            rep.log(self._pummel_vu.id, str(message))

    @contextlib.contextmanager
    def _timed(self, name, method, url, sent=0):
        rep = _report.reporter()
        vu = self._pummel_vu
        if rep is None or vu is None:
            yield
            return
        start = time.monotonic_ns()
        try:
            yield
        except Exception as exc:
            rep.hit(vu.id, vu.iteration, name, method, url, start, time.monotonic_ns() - start,
                    sent=sent, error=_ws_error_kind(exc))
            raise
        rep.hit(vu.id, vu.iteration, name, method, url, start, time.monotonic_ns() - start,
                status=101 if method == "GET" else None, sent=sent)


def _ws_error_kind(exc):
    if isinstance(exc, ConnectionRefusedError):
        return "connect_refused"
    name = type(exc).__name__
    if "Timeout" in name:
        return "timeout"
    if "BadStatus" in name or "Handshake" in name:
        return "ws_handshake"
    if "ConnectionClosed" in name:
        return "ws_closed"
    return "io"
