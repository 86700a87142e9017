//! Loader tests: whole files in, a plan or located errors out.

use std::path::PathBuf;
use std::time::Duration;

use super::test_support::{self, assert_error, fixtures, Located};
use super::*;
use crate::scenario::check::CheckOutcome;
use crate::scenario::duration::Think;
use crate::scenario::feeder::FeedMode;
use crate::scenario::load_model::LoadModel;
use crate::scenario::model::StepKind;
use crate::scenario::request::{Auth, AuthSetting};
use crate::scenario::response::ResponseView;
use crate::scenario::template::{Context, VarId};
use crate::scenario::threshold::Scope;

fn options() -> LoadOptions {
    LoadOptions {
        env: Default::default(),
        base_dir: Some(fixtures()),
        target: None,
    }
    .with_env("TOKEN", "t0k")
}

fn load_ok(text: &str) -> Plan {
    test_support::load_ok(text, &options())
}

fn errors(text: &str) -> Vec<Located> {
    test_support::errors(text, &options())
}

const HEAD: &str = "target: http://127.0.0.1:8080\n";

fn scenario(steps: &str) -> String {
    format!("{HEAD}scenarios:\n  - name: s\n    steps:\n{steps}")
}

// ---- a complete file ---------------------------------------------------------

const FULL: &str = r#"
name: full
target: http://127.0.0.1:8080/base/
defaults:
  headers: { accept: application/json, x-token: "{{ env.TOKEN }}" }
  timeout: 5s
  think: 100ms..500ms
  auth: { bearer: "{{ session_token }}" }
variables:
  category: games
  user_agent: "pummel-{{ vu }}"
  tag: "{{ category }}-x"
data:
  users: { file: users.csv, mode: unique }
  apps: apps.json
load:
  stages:
    - { duration: 10s, target: 3 }
    - { duration: 20s, target: 3 }
thresholds:
  - p95 < 300ms
  - { condition: "error_rate < 1%", scenario: browse, abort_on_fail: true, abort_grace: 5s }
  - { condition: "p99 < 1s", step: search }
setup:
  - name: seed
    request: { method: post, url: /api/seed, auth: none, body: "seed {{ category }}" }
    capture:
      seed_id: { header: X-Seed-Id }
scenarios:
  - name: browse
    weight: 3
    pacing: 2s
    think: 1s
    setup:
      - name: login
        request:
          method: POST
          url: /api/login
          auth: { basic: { username: "{{ users.username }}", password: "{{ users.password }}" } }
        capture:
          session_token: { cookie: session }
    steps:
      - name: search
        request:
          url: /api/apps
          query: { q: "{{ random_choice('chess', 'go') }}", category: [a, "{{ apps.category }}"] }
          headers: { accept: text/html }
        check:
          status: [200, 2xx]
          max_time: 500ms
          headers: { content-type: { contains: json }, x-id: exists }
          body: { contains: [chess, "{{ category }}"], not_contains: error, regex: '"id":\s*\d+' }
          jsonpath:
            "$.items": exists
            "$.count": 2
            "$.items[0].name": { equals: "{{ apps.name }}", regex: "^c" }
        capture:
          app_id: { jsonpath: "$.items[0].id" }
          word: { regex: 'name": "(\w+)"', optional: true }
        think: 0s
      - think: 1s..2s
      - group: details
        steps:
          - request: GET /api/apps/{{ app_id }}/reviews?seed={{ seed_id }}
          - request:
              method: PUT
              url: http://other.test:9000/x
              form: { app: "{{ app_id }}", word: "{{ word }}" }
  - name: upload
    steps:
      - name: upload
        request: { method: POST, url: /api/upload, file: payload.txt, timeout: 2s, auth: none }
      - request:
          method: POST
          url: /api/apps
          auth: none
          json: { name: "app-{{ uuid() }}", rating: "{{ random_int(1, 5) }}", tags: [a, 1, true, null], n: 1.5 }
"#;

#[test]
fn a_complete_file_loads_into_the_model() {
    let plan = load_ok(FULL);
    assert_eq!(plan.name.as_deref(), Some("full"));
    assert_eq!(
        plan.vars,
        [
            "category",
            "user_agent",
            "tag",
            "seed_id",
            "session_token",
            "app_id",
            "word"
        ]
    );
    assert_eq!(plan.load.max_vus(), 3);
    assert_eq!(plan.thresholds.len(), 3);
    assert_eq!(plan.thresholds[1].scope, Scope::Scenario("browse".into()));
    assert!(plan.thresholds[1].abort_on_fail);
    assert_eq!(plan.thresholds[1].abort_grace, Duration::from_secs(5));
    assert_eq!(
        plan.thresholds[2].scope,
        Scope::Step {
            scenario: None,
            step: "search".into()
        }
    );
    assert_eq!(plan.feeders[0].columns(), ["username", "password", "email"]);
    assert_eq!(plan.feeders[1].mode, FeedMode::Sequential);

    let browse = &plan.scenarios[0];
    assert_eq!(
        (browse.weight, browse.pacing),
        (3, Some(Duration::from_secs(2)))
    );
    let StepKind::Request(search) = &browse.steps[0].kind else {
        panic!()
    };
    assert_eq!(
        search.checks.len(),
        12,
        "{:#?}",
        search.checks.iter().map(|c| &c.label).collect::<Vec<_>>()
    );
    let labels: Vec<&str> = search.checks.iter().map(|c| c.label.as_str()).collect();
    assert!(labels.contains(&"status 200, 2xx"));
    assert!(labels.contains(&"jsonpath $.count == 2"));
    assert!(labels.contains(&"header content-type contains \"json\""));
    assert_eq!(search.captures[0].var, plan.var("app_id").unwrap());
    assert_eq!(
        plan.think_after(Some(browse), search),
        Some(Think::Fixed(Duration::ZERO))
    );
    // A step header replaces the default of the same name.
    let headers: Vec<(&str, &str)> = plan
        .headers_for(search)
        .map(|h| (h.name.as_str(), h.value.source()))
        .collect();
    assert_eq!(
        headers,
        [("x-token", "{{ env.TOKEN }}"), ("accept", "text/html")]
    );
    assert!(matches!(plan.auth_for(search), Some(Auth::Bearer(_))));
    let StepKind::Request(seed) = &plan.setup[0].kind else {
        panic!()
    };
    assert!(plan.auth_for(seed).is_none());
    assert_eq!(seed.method, http::Method::POST);
    assert_eq!(plan.timeout_for(seed), Duration::from_secs(5));
    let StepKind::Group(group) = &browse.steps[2].kind else {
        panic!()
    };
    assert_eq!(group.steps.len(), 2);
    assert_eq!(
        group.steps[0].name,
        "GET /api/apps/{{ app_id }}/reviews?seed={{ seed_id }}"
    );

    let upload = &plan.scenarios[1];
    let StepKind::Request(up) = &upload.steps[0].kind else {
        panic!()
    };
    assert_eq!(up.body.fixed().unwrap(), "raw payload\n");
    assert_eq!(plan.timeout_for(up), Duration::from_secs(2));
    assert_eq!(plan.scenario_pick().total(), 4);
}

/// A VU's state, as the engine would keep it, for rendering tests.
struct Vu<'p> {
    plan: &'p Plan,
    vars: Vec<Option<String>>,
    rows: Vec<usize>,
}

impl Context for Vu<'_> {
    fn var(&self, id: VarId) -> Option<&str> {
        self.vars.get(id.index())?.as_deref()
    }
    fn field(&self, feeder: usize, column: usize) -> Option<&str> {
        self.plan
            .feeders
            .get(feeder)?
            .row(self.rows[feeder])?
            .get(column)
            .map(String::as_str)
    }
    fn vu(&self) -> u64 {
        4
    }
    fn iteration(&self) -> u64 {
        0
    }
}

#[test]
fn a_loaded_plan_renders_requests() {
    let plan = load_ok(FULL);
    let mut vu = Vu {
        plan: &plan,
        vars: vec![None; plan.vars.len()],
        rows: vec![1, 0],
    };
    // Variables are evaluated in order when the VU starts.
    for v in &plan.variables {
        let value = v.value.render_to_string(&vu).unwrap();
        vu.vars[v.var.index()] = Some(value);
    }
    assert_eq!(vu.vars[2].as_deref(), Some("games-x"));
    assert_eq!(vu.vars[1].as_deref(), Some("pummel-4"));
    vu.vars[plan.var("app_id").unwrap().index()] = Some("17".into());
    vu.vars[plan.var("seed_id").unwrap().index()] = Some("s1".into());

    let StepKind::Request(search) = &plan.scenarios[0].steps[0].kind else {
        panic!()
    };
    let mut url = String::new();
    search.render_url(&vu, &mut url).unwrap();
    assert!(url.starts_with("/api/apps?q="), "{url}");
    assert!(url.ends_with("&category=a&category=games"), "{url}");
    let resolved = plan.resolve_url(&url).unwrap();
    assert!(resolved.path_and_query.starts_with("/base/api/apps?q="));
    let x_token = plan
        .headers_for(search)
        .next()
        .unwrap()
        .value
        .render_to_string(&vu)
        .unwrap();
    assert_eq!(x_token, "t0k");

    let StepKind::Group(g) = &plan.scenarios[0].steps[2].kind else {
        panic!()
    };
    let StepKind::Request(reviews) = &g.steps[0].kind else {
        panic!()
    };
    url.clear();
    reviews.render_url(&vu, &mut url).unwrap();
    assert_eq!(url, "/api/apps/17/reviews?seed=s1");
    let StepKind::Request(put) = &g.steps[1].kind else {
        panic!()
    };
    assert_eq!(
        plan.resolve_url(put.url.source()).unwrap().authority,
        "other.test:9000"
    );
    let mut body = String::new();
    assert!(
        put.body.render(&vu, &mut body).is_err(),
        "`word` was never captured"
    );

    let StepKind::Request(login) = &plan.scenarios[0].setup[0].kind else {
        panic!()
    };
    let AuthSetting::Use(auth) = &login.auth else {
        panic!()
    };
    let mut header = String::new();
    auth.render(&vu, &mut header).unwrap();
    assert_eq!(header, "Basic Ym9iOnBhc3MtYm9i"); // bob:pass-bob

    let StepKind::Request(create) = &plan.scenarios[1].steps[1].kind else {
        panic!()
    };
    body.clear();
    create.body.render(&vu, &mut body).unwrap();
    let json: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert!(json["rating"].is_i64() && json["name"].as_str().unwrap().starts_with("app-"));
    assert_eq!(json["tags"], serde_json::json!(["a", 1, true, null]));
    assert_eq!(create.body.content_type(), Some("application/json"));

    // Checks and captures on a response.
    let headers = vec![
        ("Content-Type".to_owned(), "application/json".to_owned()),
        ("X-Id".to_owned(), "1".to_owned()),
    ];
    let body = r#"{"items": [{"id": 5, "name": "chess"}], "count": 2, "games": 1}"#;
    let response = ResponseView::new(200, &headers, body.as_bytes(), Duration::from_millis(20));
    vu.rows[1] = 0; // apps row "chess"
    let mut scratch = String::new();
    let failed: Vec<(&str, CheckOutcome)> = search
        .checks
        .iter()
        .map(|c| (c.label.as_str(), c.evaluate(&response, &vu, &mut scratch)))
        .filter(|(_, o)| !o.passed())
        .collect();
    assert_eq!(failed, vec![]);
    assert_eq!(
        search.captures[0].source.extract(&response).as_deref(),
        Some("5")
    );
    assert_eq!(
        search.captures[1].source.extract(&response).as_deref(),
        Some("chess")
    );
}

// ---- every error, located -----------------------------------------------------

#[test]
fn unknown_keys_are_rejected_with_suggestions() {
    let e = errors(&format!(
        "{HEAD}defualts: {{}}\nload: {{ vus: 1, duraton: 1s }}\nscenarios:\n  - name: s\n    wieght: 2\n    steps:\n      - reqest: GET /\n      - request: {{ url: /, methd: GET }}\n        chek: {{}}\n        check: {{ stauts: 200 }}\n"
    ));
    assert_error(
        &e,
        2,
        1,
        "unknown key `defualts` in the scenario file (did you mean `defaults`?)",
    );
    assert_error(
        &e,
        3,
        17,
        "unknown key `duraton` in `load` (did you mean `duration`?)",
    );
    assert_error(
        &e,
        6,
        5,
        "unknown key `wieght` in a scenario (did you mean `weight`?)",
    );
    assert_error(
        &e,
        8,
        9,
        "unknown key `reqest` in a step (did you mean `request`?)",
    );
    assert_error(
        &e,
        9,
        28,
        "unknown key `methd` in `request` (did you mean `method`?)",
    );
    assert_error(
        &e,
        10,
        9,
        "unknown key `chek` in a step (did you mean `check`?)",
    );
    assert_error(
        &e,
        11,
        18,
        "unknown key `stauts` in `check` (did you mean `status`?)",
    );
    let e = errors(&format!("{HEAD}zzz: 1\nscenarios: []\n"));
    assert_error(&e, 2, 1, "expected one of: name, description, target");
}

#[test]
fn bad_values_are_located() {
    let e = errors(&format!(
        "{HEAD}defaults: {{ timeout: 5, think: 3s..1s }}\nload: {{ vus: 0, duration: forever }}\nthresholds:\n  - p95 < 300\n  - erorr_rate < 1%\n  - {{ condition: \"rps > 10\", abort_grace: 5s }}\nscenarios:\n  - name: s\n    weight: -2\n    steps:\n      - request: {{ method: \"GE T\", url: /, timeout: 0s }}\n        check: {{ status: [200, 700, 2xx, \"300..200\"] }}\n"
    ));
    assert_error(
        &e,
        2,
        22,
        "`timeout`: duration \"5\" has no unit: write 5s or 5ms",
    );
    assert_error(&e, 2, 32, "`think`: think range \"3s..1s\" goes backwards");
    assert_error(&e, 3, 14, "`vus` must be at least 1, found 0");
    assert_error(&e, 3, 27, "`duration`: invalid duration \"forever\"");
    assert_error(&e, 5, 11, "p95 compares durations: write 300ms or 300s");
    assert_error(&e, 6, 5, "unknown metric `erorr_rate`");
    assert_error(
        &e,
        7,
        30,
        "`abort_grace` only applies with `abort_on_fail: true`",
    );
    assert_error(&e, 10, 13, "`weight` must be at least 1, found -2");
    assert_error(&e, 12, 28, "`GE T` is not a valid HTTP method");
    assert_error(&e, 12, 53, "`timeout` must be more than 0");
    assert_error(&e, 13, 32, "invalid status \"700\"");
    assert_error(&e, 13, 42, "status range \"300..200\" goes backwards");
    assert_eq!(e.len(), 12, "{e:#?}");
}

#[test]
fn structure_errors() {
    let e = errors("");
    assert_error(&e, 1, 1, "the file is empty");
    let e = errors("- a\n- b\n");
    assert_error(&e, 1, 1, "the scenario file must be a mapping");
    let e = errors(HEAD);
    assert_error(&e, 1, 1, "the file has no `scenarios`");
    let e = errors(&format!("{HEAD}scenarios: []\n"));
    assert_error(&e, 2, 12, "`scenarios` is empty");
    let e = errors(&format!(
        "{HEAD}scenarios:\n  - name: a\n    steps: []\n  - name: a\n    steps:\n      - name: x\n      - {{ request: /, group: g }}\n      - {{ think: 1s, name: t }}\n      - {{ group: g }}\n  - steps: [ {{ think: 1s }} ]\n"
    ));
    assert_error(&e, 4, 12, "scenario `a` has no steps");
    assert_error(&e, 5, 11, "there is already a scenario named `a`");
    let slash = errors(&format!(
        "{HEAD}scenarios:\n  - name: a/b\n    steps:\n      - think: 1s\n"
    ));
    assert_error(
        &slash,
        3,
        11,
        "a scenario's name cannot contain `/` (`a/b`)",
    );
    assert_error(
        &e,
        7,
        9,
        "a step needs `request`, `think`, `group`, `loop`, `if`, `parallel` or a WebSocket action",
    );
    assert_error(
        &e,
        8,
        23,
        "a step does one thing: `request` or `group`, not both",
    );
    assert_error(&e, 9, 22, "`name` does not belong in a think step");
    assert_error(&e, 10, 11, "group `g` needs `steps`");
    assert_error(&e, 11, 5, "a scenario needs `name`");
}

#[test]
fn load_models() {
    let load = |l: &str| {
        load_str_with(
            "t",
            &format!(
                "{HEAD}load: {l}\n{}",
                &scenario("      - think: 1s\n")[HEAD.len()..]
            ),
            &options(),
        )
    };
    let ok = |l: &str| load(l).unwrap_or_else(|e| panic!("{l}: {e}")).load;
    assert_eq!(
        ok("{ vus: 3, iterations: 10 }"),
        LoadModel::Vus {
            vus: 3,
            duration: None,
            iterations: Some(10)
        }
    );
    assert!(
        matches!(ok("{ rate: 50, duration: 1m }"), LoadModel::Rate { rate, max_vus: 1000, .. } if rate == 50.0)
    );
    assert!(matches!(
        ok("{ rate_stages: [{ duration: 1m, target: 100 }], start_rate: 5, max_vus: 20 }"),
        LoadModel::RampingRate { max_vus: 20, .. }
    ));
    assert!(matches!(
        ok("{ stages: [{ duration: 1m, target: 10 }], start_vus: 2 }"),
        LoadModel::RampingVus { start: 2, .. }
    ));
    let LoadModel::Cycles(c) =
        ok("{ cycles: [5, 10, 20], cycle_duration: 30s, startup_delay: 100ms, cycle_pause: 5s }")
    else {
        panic!()
    };
    assert_eq!((c.levels.len(), c.pause), (3, Duration::from_secs(5)));

    let err = |l: &str| {
        load(l)
            .unwrap_err()
            .iter()
            .map(|d| (d.column, d.message.clone()))
            .collect::<Vec<_>>()
    };
    let msgs = |l: &str| {
        err(l)
            .into_iter()
            .map(|(_, m)| m)
            .collect::<Vec<_>>()
            .join("\n")
    };
    assert!(msgs("{ vus: 3, rate: 5, duration: 1s }").contains("`rate` conflicts with `vus`"));
    assert!(
        msgs("{ vus: 3 }").contains("`vus` needs `duration`, `iterations` or `iterations_per_vu`")
    );
    assert!(msgs("{ rate: 5 }").contains("`rate` needs `duration`"));
    assert!(msgs("{ duration: 5s }").contains("`load` needs one of"));
    assert!(msgs("{ vus: 2, duration: 1s, max_vus: 3 }")
        .contains("`max_vus` does not apply to a `vus` load model"));
    assert!(msgs("{ stages: [] }").contains("`stages` is empty"));
    assert!(msgs("{ stages: [{ duration: 1s }] }").contains("a stage needs `target`"));
    assert!(msgs("{ stages: [{ duration: 1s, target: 2.5 }] }")
        .contains("`target` must be a whole number"));
    assert!(msgs("{ stages: [{ duration: 0s, target: 2 }] }").contains("last no time at all"));
    // Stages that never leave 0 would send nothing for their whole time.
    assert!(msgs("{ stages: [{ duration: 1s, target: 0 }] }")
        .contains("`stages` never rise above 0 VUs"));
    assert!(
        msgs("{ rate_stages: [{ duration: 1s, target: 0 }], start_rate: 0 }")
            .contains("`rate_stages` never rise above 0 per second")
    );
    assert!(load("{ start_vus: 2, stages: [{ duration: 1s, target: 0 }] }").is_ok());
    assert!(load("{ start_rate: 2, rate_stages: [{ duration: 1s, target: 0 }] }").is_ok());
    assert!(msgs("{ cycles: [], cycle_duration: 1s }").contains("`cycles` is empty"));
    assert!(msgs("{ cycles: [1, 2] }").contains("`cycles` needs `cycle_duration`"));
    assert!(msgs("{ rate: -1, duration: 1s }").contains("`rate` must be more than 0, found -1"));
    // Not "at least 0.000…(300 digits)…1".
    let zero = msgs("{ rate: 0, duration: 1s }");
    assert!(
        zero.contains("`rate` must be more than 0, found 0"),
        "{zero}"
    );
    // An item below the least VU count is not an empty list.
    let cycles = msgs("{ cycles: [0], cycle_duration: 1s }");
    assert!(!cycles.contains("is empty"), "{cycles}");
    assert!(
        cycles.contains("a cycle's VU count must be at least 1"),
        "{cycles}"
    );
}

#[test]
fn a_list_repeats_a_form_or_multipart_field() {
    let plan = load_ok(&scenario(
        "      - request: { method: POST, url: /f, form: { ids: [1, 2], q: x } }\n      - request: { method: POST, url: /m, multipart: { tag: [a, b] } }\n",
    ));
    let text = format!("{plan:?}");
    // Both values of each field reach the request, in order.
    for needle in ["\"ids\"", "\"tag\""] {
        assert_eq!(text.matches(needle).count(), 2, "{needle} in {text}");
    }
}

#[test]
fn flags_replace_the_quick_try_of_a_file_without_load_but_adjust_a_files_load() {
    let vus = |vus: u32, duration: Option<u64>, iterations: Option<u64>| LoadModel::Vus {
        vus,
        duration: duration.map(Duration::from_secs),
        iterations,
    };
    let flags = |vus: Option<u32>, secs: Option<u64>, iterations: Option<u64>| Overrides {
        vus,
        duration: secs.map(Duration::from_secs),
        iterations,
        rate: None,
    };
    let after = |text: &str, flags: Overrides| {
        let mut plan = load_ok(text);
        plan.apply_overrides(&flags).unwrap();
        plan.load
    };
    let bare = scenario("      - think: 1s\n");
    assert_eq!(after(&bare, flags(None, None, None)), vus(1, None, Some(1)));
    // `pummel run FILE --vus 10 --duration 1m` lasts the minute.
    assert_eq!(
        after(&bare, flags(Some(10), Some(60), None)),
        vus(10, Some(60), None)
    );
    assert_eq!(
        after(&bare, flags(None, Some(5), None)),
        vus(1, Some(5), None)
    );
    // `--vus` alone: each VU tries the journey once.
    assert_eq!(
        after(&bare, flags(Some(4), None, None)),
        vus(4, None, Some(4))
    );
    assert_eq!(
        after(&bare, flags(None, None, Some(7))),
        vus(1, None, Some(7))
    );

    // `--once` (which takes no load flags) keeps its one pass per scenario.
    let three = format!(
        "{HEAD}scenarios:\n  - {{ name: a, steps: [{{ think: 1s }}] }}\n  - {{ name: b, steps: [{{ think: 1s }}] }}\n  - {{ name: c, steps: [{{ think: 1s }}] }}\n"
    );
    let mut once = load_ok(&three);
    once.run_once();
    once.apply_overrides(&flags(None, None, None)).unwrap();
    assert_eq!(once.load, vus(1, None, Some(3)));

    // A file's own load keeps what the flags do not replace.
    let with_load = format!(
        "{HEAD}load: {{ vus: 3, iterations: 100 }}\n{}",
        &bare[HEAD.len()..]
    );
    assert_eq!(
        after(&with_load, flags(None, Some(60), None)),
        vus(3, Some(60), Some(100))
    );
    assert_eq!(
        after(&with_load, flags(Some(5), None, None)),
        vus(5, None, Some(100))
    );
}

#[test]
fn undefined_names_are_caught_before_any_request() {
    let e = errors(&format!(
        r#"{HEAD}variables:
  a: "{{{{ b }}}}"
  b: "{{{{ b }}}}-{{{{ later_capture }}}}"
data:
  users: {{ file: users.csv }}
setup:
  - request: /seed/{{{{ users.username }}}}
scenarios:
  - name: s
    steps:
      - request: /x/{{{{ token }}}}?u={{{{ users.emial }}}}&e={{{{ env.NOPE_NOT_SET }}}}&t={{{{ env.TOKEN }}}}
        capture:
          token: {{ header: x-token }}
      - request: /y/{{{{ tokne }}}}/{{{{ users }}}}/{{{{ env }}}}/{{{{ usres.email }}}}/{{{{ token.id }}}}
        check:
          body: {{ contains: "{{{{ never }}}}" }}
        capture:
          later_capture: {{ header: x }}
  - name: other
    steps:
      - request: /z/{{{{ token }}}}
"#
    ));
    assert_error(&e, 3, 10, "`b` is declared further down");
    assert_error(&e, 4, 10, "variable `b` cannot use itself");
    assert_error(
        &e,
        4,
        18,
        "variables cannot use captures: `later_capture` is captured at line 19",
    );
    assert_error(&e, 8, 23, "data feeders cannot be used in the global setup");
    assert_error(
        &e,
        12,
        24,
        "`token` is used before it is captured (at line 14)",
    );
    assert_error(&e, 12, 38, "data feeder `users` has no column `emial` (columns: username, password, email); did you mean `users.email`?");
    assert_error(&e, 12, 58, "environment variable `NOPE_NOT_SET` is not set (export it, or pass --env NOPE_NOT_SET=VALUE)");
    assert_error(&e, 15, 24, "`tokne` is not defined (did you mean `token`?)");
    assert_error(
        &e,
        15,
        36,
        "`users` is a data feeder: name one of its columns",
    );
    assert_error(&e, 15, 48, "write `env.NAME`");
    assert_error(
        &e,
        15,
        58,
        "`usres.email` is not defined (did you mean `users.email`?)",
    );
    assert_error(&e, 15, 76, "`token` holds text; it has no field `id`");
    assert_error(&e, 17, 33, "`never` is not defined");
    assert_error(
        &e,
        22,
        24,
        "`token` is captured in scenario `s` (line 14), which does not run before scenario `other`",
    );
    assert_eq!(e.len(), 14, "{e:#?}");
}

#[test]
fn defaults_are_checked_where_they_are_used() {
    let text = format!(
        "{HEAD}defaults:\n  auth: {{ bearer: \"{{{{ token }}}}\" }}\n  headers: {{ x-a: \"{{{{ token }}}}\" }}\nscenarios:\n  - name: s\n    setup:\n      - request: {{ url: /login, auth: none, headers: {{ x-a: none }} }}\n        capture: {{ token: {{ cookie: session }} }}\n    steps:\n      - request: /x\n"
    );
    load_ok(&text);
    // Without the override, the login step would send a token it does not have yet: one error each.
    let e = errors(&text.replace("auth: none, headers: { x-a: none } ", ""));
    assert_error(
        &e,
        3,
        23,
        "`token` is used before it is captured (at line 9)",
    );
    assert_error(
        &e,
        4,
        23,
        "`token` is used before it is captured (at line 9)",
    );
    assert_eq!(e.len(), 2, "{e:#?}");
}

#[test]
fn compiled_things_are_checked() {
    let e = errors(&scenario(
        "      - request: /{{ rand_int(1, 2) }}/{{ users\n      - request: nowhere\n      - request: { url: \"http://[bad\" }\n      - request: /x\n        check:\n          jsonpath: { \"$.a[\": exists, \"items\": exists, \"$.b\": { equals: 1, contan: x } }\n          body: { regex: \"(\" }\n          headers: { \"bad header\": x }\n        capture:\n          1bad: { header: x }\n          vu: { header: x }\n          c: { regex: \"a(b)\", group: 2 }\n          d: { header: a, cookie: b }\n          e: { jsonpath: \"$.x\", group: 1 }\n          f: {}\n",
    ));
    assert_error(
        &e,
        5,
        22,
        "unknown function `rand_int` (did you mean `random_int`?)",
    );
    assert_error(&e, 6, 18, "`url` must start with /");
    assert_error(&e, 7, 25, "`url`: invalid URL");
    assert_error(&e, 10, 23, "invalid JSONPath \"$.a[\"");
    assert_error(&e, 10, 39, "a JSONPath starts with `$`");
    assert_error(&e, 10, 76, "unknown key `contan`");
    assert_error(&e, 11, 26, "invalid regex");
    assert_error(&e, 12, 22, "`bad header` is not a valid header name");
    assert_error(&e, 14, 11, "`1bad` is not a valid variable name");
    assert_error(&e, 15, 11, "`vu` is a reserved name");
    assert_error(&e, 16, 38, "`group` must be at most 1, found 2");
    assert_error(&e, 17, 27, "`cookie` conflicts with `header`");
    assert_error(&e, 18, 33, "`group` only applies to `regex`");
    assert_error(
        &e,
        19,
        14,
        "needs one of `jsonpath`, `regex`, `header`, `cookie` or `css`",
    );
}

#[test]
fn bodies_conflict_and_files_must_exist() {
    let e = errors(&scenario(
        "      - request: { method: POST, url: /, json: {a: 1}, form: {b: 2} }\n      - request: { method: POST, url: /, file: missing.bin }\n",
    ));
    assert_error(
        &e,
        5,
        56,
        "`form` conflicts with `json`: a request has one body",
    );
    assert_error(&e, 6, 48, "`file`: cannot read");
    let e = errors("scenarios:\n  - name: s\n    steps:\n      - request: /relative\n");
    assert_error(&e, 4, 18, "`url` is relative, but the file has no `target`");
}

#[test]
fn data_feeders() {
    let e = errors(&format!(
        "{HEAD}data:\n  a: {{ file: nope.csv }}\n  b: {{ file: users.csv, mode: unqiue }}\n  c: {{ file: payload.txt }}\n  d: {{ mode: random }}\n  vu: users.csv\n{}",
        &scenario("      - request: /{{ a.x }}\n")[HEAD.len()..]
    ));
    assert_error(&e, 3, 14, "data feeder `a`: cannot read");
    assert_error(
        &e,
        4,
        31,
        "unknown mode `unqiue` (modes: sequential, random, unique) (did you mean `unique`?)",
    );
    assert_error(&e, 5, 14, "cannot tell the format");
    assert_error(&e, 6, 6, "data feeder `d` needs `file`");
    assert_error(&e, 7, 3, "`vu` is a reserved name");
    // `a.x` is not reported: `a` failed to load, so its columns are unknown.
    assert_eq!(e.len(), 5, "{e:#?}");
}

#[test]
fn unique_feeders_need_a_row_per_vu() {
    let text = |vus: u32| {
        format!(
            "{HEAD}data:\n  users: {{ file: users.csv, mode: unique }}\nload: {{ vus: {vus}, duration: 1s }}\n{}",
            &scenario("      - request: /{{ users.username }}\n")[HEAD.len()..]
        )
    };
    load_ok(&text(3));
    let e = errors(&text(4));
    assert_error(&e, 3, 3, "data feeder `users` (mode: unique) has 3 rows, but the load model runs up to 4 virtual users");
}

#[test]
fn threshold_scopes_must_exist() {
    let e = errors(&format!(
        "{HEAD}thresholds:\n  - {{ condition: \"p95 < 1s\", scenario: brwse }}\n  - {{ condition: \"p95 < 1s\", step: serch }}\n  - {{ condition: \"p95 < 1s\", scenario: browse, step: login }}\n  - {{ scenario: browse }}\nscenarios:\n  - name: browse\n    steps:\n      - name: search\n        request: /\n"
    ));
    assert_error(
        &e,
        3,
        40,
        "no scenario is named `brwse` (did you mean `browse`?)",
    );
    assert_error(
        &e,
        4,
        36,
        "no step is named `serch` (did you mean `search`?)",
    );
    assert_error(&e, 5, 54, "scenario `browse` has no step named `login`");
    assert_error(&e, 6, 5, "a threshold needs `condition`");
}

#[test]
fn yaml_syntax_errors_stop_early_but_are_located() {
    let d = load_str_with("t.yaml", "a: [1\nb: 2\n", &options()).unwrap_err();
    assert_eq!(d.len(), 1);
    let first = d.iter().next().unwrap();
    assert!(
        first.message.starts_with("invalid YAML: "),
        "{}",
        first.message
    );
    assert_eq!(first.line, 2);
}

#[test]
fn diagnostics_render_with_the_line_and_a_caret() {
    let d = load_str_with(
        "t.yaml",
        &format!("{HEAD}scenarios:\n  - name: s\n    wieght: 3\n    steps: [ {{ think: 1s }} ]\n"),
        &options(),
    )
    .unwrap_err();
    assert_eq!(
        d.to_string(),
        "t.yaml:4:5: unknown key `wieght` in a scenario (did you mean `weight`?)\n 4 |     wieght: 3\n   |     ^^^^^^\n1 error"
    );
}

// ---- files on disk ---------------------------------------------------------------

#[test]
fn broken_fixture_files_report_every_error() {
    let load = |name: &str| load_with(&fixtures().join(name), &options()).unwrap_err();
    let d = load("broken-syntax.yaml");
    assert_eq!(d.len(), 1);
    assert!(d.to_string().contains("broken-syntax.yaml:5:"), "{d}");

    let d = load("broken-keys.yaml");
    let text = d.to_string();
    for needle in [
        "broken-keys.yaml:3:1: unknown key `defualts` in the scenario file (did you mean `defaults`?)",
        "broken-keys.yaml:7:3: unknown key `duraton` in `load` (did you mean `duration`?)",
        "broken-keys.yaml:9:11: p95 compares durations",
        "broken-keys.yaml:10:5: unknown metric `erorr_rate`",
        "broken-keys.yaml:13:5: unknown key `wieght` in a scenario (did you mean `weight`?)",
        "broken-keys.yaml:16:9: unknown key `reqest` in a step (did you mean `request`?)",
        "broken-keys.yaml:17:16: `think`: invalid duration \"2 seconds\"",
        "broken-keys.yaml:19:13: `weight` must be at least 1, found 0",
        "broken-keys.yaml:20:12: scenario `empty` has no steps",
    ] {
        assert!(text.contains(needle), "missing {needle:?} in:\n{text}");
    }

    // A misspelt key is reported once, not again as the key it should be.
    assert!(
        !text.contains("`vus` needs") && !text.contains("a step needs"),
        "{text}"
    );

    let d = load("broken-names.yaml");
    let text = d.to_string();
    for needle in [
        "broken-names.yaml:4:23: `who` is declared further down",
        "broken-names.yaml:10:27: data feeders cannot be used in the global setup",
        "broken-names.yaml:17:29: `app_id` is used before it is captured (at line 23)",
        "broken-names.yaml:19:38: environment variable `PUMMEL_TEST_SURELY_UNSET` is not set",
        "broken-names.yaml:21:24: data feeder `users` has no column `mail`",
        "broken-names.yaml:25:50: `aap_id` is not defined (did you mean `app_id`?)",
        "broken-names.yaml:28:13: `jsonpath`: invalid JSONPath",
        "broken-names.yaml:30:20: `body` `regex`: invalid regex",
    ] {
        assert!(text.contains(needle), "missing {needle:?} in:\n{text}");
    }
    assert!(text.ends_with("8 errors"), "{text}");
}

#[test]
fn missing_and_unreadable_files() {
    let d = load_with(Path::new("/nonexistent/x.yaml"), &options()).unwrap_err();
    assert!(d
        .to_string()
        .starts_with("/nonexistent/x.yaml: cannot read the file"));
    let d = load_with(&fixtures().join("users.csv"), &options()).unwrap_err();
    assert!(
        d.to_string()
            .contains("the scenario file must be a mapping"),
        "{d}"
    );
}

#[test]
fn the_init_template_and_the_examples_load() {
    let opts = || LoadOptions::default().with_env("DEMO_PASSWORD", "pw");
    load_str_with("init.yaml", init_template(), &opts()).unwrap_or_else(|d| panic!("{d}"));
    let examples = PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../../examples"));
    let mut seen = 0;
    for entry in std::fs::read_dir(&examples).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "yaml") {
            load_with(&path, &opts()).unwrap_or_else(|d| panic!("{d}"));
            seen += 1;
        }
    }
    assert!(seen >= 3, "examples found: {seen}");
}

// ---- no panics, whatever the input -------------------------------------------

#[test]
fn mutated_files_never_panic() {
    let bytes = FULL.as_bytes();
    let mut seed = 0x2545F4914F6CDD1Du64;
    let mut next = move || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    let junk = b"{}[]:-'\"|>&*!#%@`?,\n\t \\{{}}$.0123456789abcxyz";
    for _ in 0..400 {
        let mut text = bytes.to_vec();
        for _ in 0..(next() % 6 + 1) {
            let at = (next() % text.len() as u64) as usize;
            match next() % 3 {
                0 => text[at] = junk[(next() % junk.len() as u64) as usize],
                1 => {
                    text.remove(at);
                }
                _ => text.insert(at, junk[(next() % junk.len() as u64) as usize]),
            }
        }
        let text = String::from_utf8_lossy(&text);
        if let Err(d) = load_str_with("fuzz.yaml", &text, &options()) {
            assert!(!d.is_empty());
            let _ = d.to_string();
        }
    }
}

#[test]
fn websocket_steps() {
    use crate::scenario::websocket::{WsAction, WsMessage};
    let plan = load_str(
        "ws.yaml",
        "target: http://127.0.0.1:1\nscenarios:\n  - name: a\n    steps:\n      - { ws_connect: /ws/feed, socket: feed }\n      - { ws_send: { json: { n: \"{{ vu }}\" } }, socket: feed }\n      - name: got it\n        socket: feed\n        ws_expect: { jsonpath: { \"$.n\": exists }, timeout: 2s }\n        capture: { n: { jsonpath: \"$.n\" } }\n      - { ws_send: \"n was {{ n }}\", socket: feed }\n      - { ws_receive: 2, socket: feed }\n      - { ws_hold: 1s }\n      - { ws_ping: 500ms }\n      - { ws_close: { code: 4000, reason: bye } }\n      - { ws_connect: /ws/echo }\n",
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let kinds: Vec<&WsAction> = plan.scenarios[0]
        .steps
        .iter()
        .map(|s| match &s.kind {
            StepKind::WebSocket(ws) => &ws.action,
            other => panic!("not a ws step: {other:?}"),
        })
        .collect();
    assert!(matches!(kinds[0], WsAction::Connect(_)));
    assert!(matches!(kinds[1], WsAction::Send(WsMessage::Json(_))));
    assert!(
        matches!(kinds[2], WsAction::Expect { checks, captures, timeout } if checks.len() == 1 && captures.len() == 1 && *timeout == std::time::Duration::from_secs(2))
    );
    assert!(matches!(kinds[4], WsAction::Receive { count: 2, .. }));
    assert!(matches!(kinds[7], WsAction::Close { code: 4000, .. }));
    assert_eq!(plan.scenarios[0].steps[2].name, "got it");
    assert_eq!(plan.scenarios[0].steps[5].name, "ws_hold default");

    let e = errors(&format!(
        "{HEAD}scenarios:\n  - name: a\n    steps:\n      - {{ ws_send: {{ txt: x }} }}\n      - {{ ws_hold: 1s, capture: {{ x: {{ header: a }} }} }}\n      - {{ ws_send: \"{{{{ nope }}}}\" }}\n"
    ));
    assert_error(
        &e,
        5,
        22,
        "unknown key `txt` in `ws_send` (did you mean `text`?)",
    );
    assert_error(&e, 6, 24, "only `ws_expect` captures from a message");
    assert_error(&e, 7, 24, "`nope` is not defined");
}
