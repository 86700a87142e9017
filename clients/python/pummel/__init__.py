"""pummel's Python client: unittest journeys as load tests.

A :class:`TestCase` is a :class:`unittest.TestCase`, so ``python -m unittest``
runs it as a plain test. Under ``pummel run --runner python FILE:Class.method``
each virtual user is a thread with its own instance of the class; every
request made through ``self.session`` (a :class:`requests.Session`) and every
WebSocket exchange through ``self.ws(url)`` is timed and reported to pummel,
which owns the load model, the clock and the metrics.

Outside pummel the timing layer is inert: ``self.session`` is a plain
session, ``self.step`` only names, ``self.metric`` does nothing and a failed
``self.check`` fails the test (under pummel it is counted, as checks are).
"""

from ._case import TestCase
from ._report import active

__all__ = ["TestCase", "active"]
__version__ = "0.1.0"
