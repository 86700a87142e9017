"""Runners that misbehave on purpose, for the containment tests: each passes
its first iterations, then breaks the way its name says, once per process."""

import os
import threading
import time

import pummel
from pummel import _report

TARGET = os.environ["TARGET"]
_lock = threading.Lock()
_iterations = 0


def _nth():
    global _iterations
    with _lock:
        _iterations += 1
        return _iterations


class Bad(pummel.TestCase):
    def ping(self):
        r = self.session.get(TARGET + "/")
        self.check(r.status_code == 200, "status 200", step="GET /")

    def test_crash(self):
        """The process dies (exit 3) on its 5th iteration."""
        self.ping()
        if _nth() == 5:
            os._exit(3)

    def test_hang(self):
        """A VU's 3rd iteration in each process never ends."""
        self.ping()
        if _nth() == 3:
            time.sleep(3600)

    def test_garbage(self):
        """The process writes a line that is not the protocol on its 5th iteration."""
        self.ping()
        if _nth() == 5:
            _report.reporter().send("this is not JSON\n")

    def test_noisy(self):
        """Floods its log: 5,000 lines of print per iteration."""
        self.ping()
        for i in range(5000):
            print("noise", i)
