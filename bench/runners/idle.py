"""Idle virtual users: each iteration sleeps (bench/runners.sh measures what
an idle Python VU costs in memory)."""

import time

import pummel


class Idle(pummel.TestCase):
    def test_idle(self):
        time.sleep(30)
