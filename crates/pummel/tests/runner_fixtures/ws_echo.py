"""A WebSocket journey for the runner tests: ``self.ws`` against the target's
echo, three timed round trips per iteration, each checked."""

import os

import pummel

ECHO = os.environ["TARGET"].replace("http://", "ws://", 1) + "/ws/echo"


class Echo(pummel.TestCase):
    def test_echo(self):
        with self.ws(ECHO) as ws:
            for i in range(3):
                message = "hello %d" % i
                self.check(ws.ask(message) == message, "echoed", step="WS /ws/echo ask")
