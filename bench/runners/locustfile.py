"""The marketplace's browse journey for Locust (bench/runners.sh): the same
four requests and checks as browse.py, on Locust's requests-based HttpUser,
no wait time."""

import random

from locust import HttpUser, constant, task


class Browse(HttpUser):
    wait_time = constant(0)

    @task
    def browse(self):
        with self.client.get("/api/apps", params={"q": random.choice(["chess", "notes", "synth", "seed"])},
                             name="search", catch_response=True) as r:
            if r.status_code != 200 or "items" not in r.json():
                r.failure("check failed")
        with self.client.get("/api/apps?category=games", name="category", catch_response=True) as r:
            if r.status_code != 200:
                r.failure("check failed")
            app_id = r.json()["items"][0]["id"]
        with self.client.get("/api/apps/%s" % app_id, name="app page", catch_response=True) as r:
            if r.status_code != 200:
                r.failure("check failed")
        with self.client.get("/api/apps/%s/reviews" % app_id, name="app reviews", catch_response=True) as r:
            if r.status_code != 200 or "items" not in r.json():
                r.failure("check failed")
