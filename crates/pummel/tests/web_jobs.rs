//! The queue on the web: the new-run form queues a job; a job that waits for its agent shows its
//! place and reloads itself, is listed with the running one, and is cancelled and deleted from
//! its page; another user may neither see nor cancel it. The form also queues a repository's
//! test, with the form's load over the test's own. Shares the `web` tests' server.

use crate::cluster::SETTLE;
use crate::repos::{admin_token, commit, new_repo, repos, scenario as repo_scenario};
use crate::web::{follow_job, scenario, shared, start_run, Browser, ADA, ADMIN, BOB};

#[test]
fn web_jobs_wait_in_the_queue_with_their_place_and_are_cancelled_from_their_page() {
    let _busy = crate::util::busy();
    let shared = shared();
    let url = shared.server.url.clone();
    let target = shared.target.base();
    let (mut ada, csrf) = Browser::signed_in(&url, ADA);
    // The first job takes the server's one web agent for a few seconds...
    let first = start_run(&mut ada, &csrf, &scenario(&target), "5s");
    // ...so a second job that wants it waits, first in line.
    let queued = ada.post(
        "/runs/new",
        &[
            ("csrf", &csrf),
            ("file_name", "later.yaml"),
            ("scenario", &scenario(&target)),
            ("agents", "1"),
            ("labels", "zone=web"),
            ("duration", "1s"),
        ],
    );
    let location = queued
        .expect(303, &[])
        .header("location")
        .map(str::to_owned);
    let job = location
        .as_deref()
        .and_then(|l| l.strip_prefix("/jobs/"))
        .unwrap_or_else(|| panic!("the form leads to its job: {location:?}"))
        .to_owned();
    let page = format!("/jobs/{job}");
    ada.get(&page).expect(
        200,
        &[
            "state-queued",
            "id=\"position\">1<",
            "later",
            "1 agent with zone=web",
            "http-equiv=\"refresh\"",
        ],
    );
    // The list has both: the running job with its run, the queued one with its place.
    ada.get("/jobs/table").expect(
        200,
        &[&page, &format!("/runs/{first}"), "state-running", ">web<"],
    );
    // Another user may neither see it nor cancel it.
    let (mut bob, bob_csrf) = Browser::signed_in(&url, BOB);
    bob.get(&page).expect(403, &["belongs to ada"]);
    bob.post(&format!("{page}/cancel"), &[("csrf", &bob_csrf)])
        .expect(403, &["belongs to ada"]);
    assert!(
        !bob.get("/jobs/table").body.contains(&job),
        "ada's job in bob's list"
    );
    // A cancel without the form's token is refused; with it, the job never runs.
    ada.post(&format!("{page}/cancel"), &[])
        .expect(403, &["CSRF"]);
    ada.post(&format!("{page}/cancel"), &[("csrf", &csrf)])
        .expect(303, &[]);
    let cancelled = ada
        .get(&page)
        .expect(200, &["state-cancelled", "cancelled while queued"]);
    assert!(
        !cancelled.body.contains("http-equiv=\"refresh\""),
        "an ended job's page stays put"
    );
    // The first run goes on to its end, undisturbed.
    let events = ada.events(&first, SETTLE);
    assert_eq!(
        events.last().map(|e| e.0.as_str()),
        Some("ended"),
        "{events:?}"
    );
    ada.get(&page).expect(200, &["state-cancelled"]);
    // Deleted, it is gone.
    ada.post(&format!("{page}/delete"), &[("csrf", &csrf)])
        .expect(303, &[]);
    ada.get(&page).expect(404, &["no job"]);
}

#[test]
fn web_new_run_form_queues_a_repository_test_with_the_forms_load() {
    let _busy = crate::util::busy();
    let shared = shared();
    let url = shared.server.url.clone();
    let dir = tempfile::tempdir().expect("tmp");
    let repo = dir.path().join("webrepo");
    new_repo(&repo);
    let yml = "tests:\n  - name: smoke\n    scenario: s.yaml\n    load: { iterations: 3 }\n";
    commit(
        &repo,
        &[
            ("pummel.yml", yml.to_owned()),
            ("s.yaml", repo_scenario(&shared.target.base())),
        ],
        "first",
    );
    let token = admin_token(&shared.server);
    let added = repos(
        &shared.server,
        &token,
        &["add", "webrepo", repo.to_str().expect("utf-8")],
    );
    assert_eq!(added.code, Some(0), "{}", added.context());
    // The form offers the repository's test to an admin, not to another user.
    let (mut admin, csrf) = Browser::signed_in(&url, ADMIN);
    admin
        .get("/runs/new")
        .expect(200, &["<option value=\"webrepo/smoke\""]);
    let (mut bob, bob_csrf) = Browser::signed_in(&url, BOB);
    assert!(!bob.get("/runs/new").body.contains("webrepo/smoke"));
    bob.post(
        "/runs/new",
        &[("csrf", &bob_csrf), ("repo_test", "webrepo/smoke")],
    )
    .expect(400, &["was not started", "belongs to"]);
    // Chosen with 5 iterations over pummel.yml's 3: queued, run on the web agent, and the
    // target sees the form's load.
    let before = shared.target.served();
    let page = admin.post(
        "/runs/new",
        &[
            ("csrf", &csrf),
            ("repo_test", "webrepo/smoke"),
            ("iterations", "5"),
            ("labels", "zone=web"),
            ("scenario", ""),
        ],
    );
    let run = follow_job(&mut admin, &page);
    let events = admin.events(&run, SETTLE);
    assert_eq!(
        events.last().map(|e| e.0.as_str()),
        Some("ended"),
        "{events:?}"
    );
    assert_eq!(shared.target.served() - before, 5, "the form's iterations");
    // The repository lists the run its test started from the form.
    admin
        .get("/repos/webrepo")
        .expect(200, &[&format!("/runs/{run}")]);
    // A test that is not there is named on the form.
    admin
        .post(
            "/runs/new",
            &[("csrf", &csrf), ("repo_test", "webrepo/nothing")],
        )
        .expect(400, &["webrepo/nothing", "no test named"]);
}
