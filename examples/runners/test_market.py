"""The marketplace journey of examples/marketplace.yaml as a Python TestCase:
the same three kinds of user (browse 6, publish 1, review 3), the same steps
and checks, against `pummel target`.

    pip install ./clients/python
    pummel target &
    python -m unittest examples/runners/test_market.py          # a plain test
    pummel run --runner python examples/runners/test_market.py:MarketTest.test_journey \\
        --vus 20 --duration 1m -e TARGET=http://127.0.0.1:8080  # a load test

TARGET (default http://127.0.0.1:8080) is the marketplace's URL.
"""

import os
import random
import threading
import uuid

import pummel

TARGET = os.environ.get("TARGET", "http://127.0.0.1:8080").rstrip("/")
REVIEWS = [
    (5, "Does what it says."),
    (4, "Good, a little slow to start."),
    (2, "Crashed twice on the first day."),
]


def random_string(n):
    return uuid.uuid4().hex[:n]


class MarketTest(pummel.TestCase):
    seed_app = None

    @classmethod
    def setUpClass(cls):
        # Once, before any load: a seller publishes the app reviewers review.
        import requests

        seller, password = "seller-" + random_string(10), random_string(16)
        s = requests.Session()
        s.headers["accept"] = "application/json"
        r = s.post(TARGET + "/api/register", json={"username": seller, "password": password}, timeout=5)
        assert r.status_code == 201, r.status_code
        r = s.post(TARGET + "/api/login", auth=(seller, password), timeout=5)
        assert 200 <= r.status_code < 300, r.status_code
        r = s.post(TARGET + "/api/apps", timeout=5, json={
            "name": "Seed app " + str(uuid.uuid4()),
            "category": "games",
            "description": "The app every review scenario reviews.",
        })
        assert r.status_code == 201, r.status_code
        cls.seed_app = r.json()["id"]

    def setUp(self):
        self.session.headers["accept"] = "application/json"
        self.logged_in = getattr(self, "logged_in", False)

    def get(self, path, **kw):
        return self.session.get(TARGET + path, timeout=5, **kw)

    def post(self, path, **kw):
        return self.session.post(TARGET + path, timeout=5, **kw)

    def login(self):
        # Once per virtual user (its session keeps the cookie).
        if self.logged_in:
            return
        if not hasattr(self, "user"):
            self.user = ("user-" + random_string(12), random_string(16))
        username, password = self.user
        with self.step("register"):
            r = self.post("/api/register", json={"username": username, "password": password})
            self.check(r.status_code in (201, 409), "status in [201, 409]")
        with self.step("login"):
            r = self.post("/api/login", auth=(username, password))
            self.check(200 <= r.status_code < 300, "status 2xx")
            self.assertLess(r.status_code, 300, "login failed")
        self.logged_in = True

    def browse(self):
        with self.step("search"):
            r = self.get("/api/apps", params={"q": random.choice(["chess", "notes", "synth", "seed"])})
            self.check(r.status_code == 200, "status 200")
            self.check("items" in r.json(), "$.items exists")
        with self.step("category"):
            r = self.get("/api/apps?category=games")
            self.check(r.status_code == 200, "status 200")
            app_id = r.json()["items"][0]["id"]
        with self.step("app page"):
            r = self.get("/api/apps/%s" % app_id)
            self.check(r.status_code == 200, "status 200")
            self.check(str(r.json().get("id")) == str(app_id), "$.id equals app_id")
        with self.step("app reviews"):
            r = self.get("/api/apps/%s/reviews" % app_id)
            self.check(r.status_code == 200, "status 200")
            self.check("items" in r.json(), "$.items exists")

    def publish(self):
        self.login()
        with self.step("publish app"):
            r = self.post("/api/apps", json={
                "name": "%s's app %s" % (self.user[0], random_string(6)),
                "category": random.choice(["games", "tools", "music"]),
                "description": "Published by a pummel virtual user.",
            })
            self.check(r.status_code == 201, "status 201")
            my_app = r.json()["id"]
            self.check(my_app is not None, "$.id exists")
        with self.step("my app"):
            r = self.get("/api/apps/%s" % my_app)
            self.check(r.status_code == 200, "status 200")
            self.check(str(r.json().get("id")) == str(my_app), "$.id equals my_app")

    def review(self):
        self.login()
        with self.step("post review"):
            rating, text = random.choice(REVIEWS)
            r = self.post("/api/apps/%s/reviews" % self.seed_app, json={"rating": rating, "text": text})
            self.check(r.status_code == 201, "status 201")
        with self.step("read reviews"):
            r = self.get("/api/apps/%s/reviews" % self.seed_app)
            self.check(r.status_code == 200, "status 200")
            self.check("items" in r.json(), "$.items exists")
        self.metric("reviews posted")

    def test_journey(self):
        """One user's iteration: browse, publish or review, weighted 6:1:3."""
        random.choice([self.browse] * 6 + [self.publish] + [self.review] * 3)()

    def test_browse(self):
        self.browse()

    def test_publish(self):
        self.publish()

    def test_review(self):
        self.review()
