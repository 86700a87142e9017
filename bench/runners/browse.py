"""The marketplace's browse journey (examples/marketplace.yaml's `browse`
scenario, no think time) for bench/runners.sh: search, category, app page,
app reviews, with their checks."""

import os
import random

import pummel

TARGET = os.environ["TARGET"].rstrip("/")


class Browse(pummel.TestCase):
    def test_browse(self):
        s = self.session
        with self.step("search"):
            r = s.get(TARGET + "/api/apps", params={"q": random.choice(["chess", "notes", "synth", "seed"])})
            self.check(r.status_code == 200, "status 200")
            self.check("items" in r.json(), "$.items exists")
        with self.step("category"):
            r = s.get(TARGET + "/api/apps?category=games")
            self.check(r.status_code == 200, "status 200")
            app_id = r.json()["items"][0]["id"]
        with self.step("app page"):
            r = s.get("%s/api/apps/%s" % (TARGET, app_id))
            self.check(r.status_code == 200, "status 200")
        with self.step("app reviews"):
            r = s.get("%s/api/apps/%s/reviews" % (TARGET, app_id))
            self.check(r.status_code == 200, "status 200")
            self.check("items" in r.json(), "$.items exists")
