"""Hits without HTTP: the protocol's own throughput (bench/runners.sh)."""

import time

import pummel
from pummel import _report

HITS = 100


class Stub(pummel.TestCase):
    def test_hits(self):
        rep = _report.reporter()
        vu = self._pummel_vu
        if rep is None or vu is None:
            return
        for _ in range(HITS):
            t = time.monotonic_ns()
            rep.hit(vu.id, vu.iteration, "stub", "GET", "http://127.0.0.1/stub", t, 1000, status=200)
