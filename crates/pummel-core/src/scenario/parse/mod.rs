//! Decoding: from the YAML tree to the model, collecting every error.
//!
//! Each `decode_*` function checks one kind of mapping against its allowed
//! keys (unknown keys are errors, with a "did you mean" when a known key is
//! close), converts its values, and records a problem for anything wrong —
//! then carries on. A bad value is replaced by a harmless stand-in rather
//! than dropped when it defines a name (a capture with a broken JSONPath
//! still defines its variable), so one mistake does not cascade into
//! "undefined name" errors further down. The resulting plan is only
//! returned when there were no problems at all.
//!
//! One file per section of the scenario file, each adding the methods that
//! decode it to [`Decoder`]. They depend one way: `file` (the top level)
//! uses `load`, `thresholds`, `monitor`, `steps` and `request`; `steps` uses
//! `request`, `websocket`, `checks`, `captures`, `flow` and `parallel` (which
//! use `steps` back for the steps inside a loop, an `if` or a batch); `websocket` uses `request`,
//! `checks` and `captures`; all of them use `values` (single values), and
//! `values` uses only `decoder` (the decoder's state and mapping checks).

mod arrivals;
mod captures;
mod checks;
mod client_tls;
mod decoder;
mod file;
mod flow;
mod load;
mod metrics;
mod monitor;
mod multipart;
mod parallel;
mod request;
mod request_options;
mod runner;
mod steps;
mod tags;
mod thresholds;
mod values;
mod websocket;

pub(crate) use decoder::{DecodeInfo, Decoder};

#[cfg(test)]
mod tests {
    use std::path::Path;
    use std::time::Duration;

    use http::Method;

    use super::decoder::is_ident;
    use super::Decoder;
    use crate::scenario::duration::Think;
    use crate::scenario::load_model::LoadModel;
    use crate::scenario::model::{Plan, StepKind};
    use crate::scenario::yaml;

    fn decode(text: &str) -> (Option<Plan>, Vec<String>) {
        let root = yaml::parse(text).unwrap();
        let mut d = Decoder::new(text, Path::new("."));
        let plan = d.decode_plan(&root, "t.yaml").map(|(p, _)| p);
        (plan, d.problems.messages())
    }

    #[test]
    fn decodes_a_small_file() {
        let (plan, problems) = decode(
            "target: http://127.0.0.1:8080\nload: { vus: 2, duration: 10s }\nscenarios:\n  - name: a\n    steps:\n      - request: GET /x\n      - think: 1s..2s\n",
        );
        assert!(problems.is_empty(), "{problems:?}");
        let plan = plan.unwrap();
        assert_eq!(plan.scenarios[0].steps[0].name, "GET /x");
        assert!(matches!(
            plan.scenarios[0].steps[1].kind,
            StepKind::Think(Think::Range(..))
        ));
        assert_eq!(
            plan.load,
            LoadModel::Vus {
                vus: 2,
                duration: Some(Duration::from_secs(10)),
                iterations: None
            }
        );
    }

    #[test]
    fn request_shorthands() {
        let (plan, problems) = decode("target: http://h\nscenarios:\n  - name: a\n    steps:\n      - request: /plain\n      - request: delete /x/{{ vu }}\n");
        assert!(problems.is_empty(), "{problems:?}");
        let steps = &plan.unwrap().scenarios[0].steps;
        let StepKind::Request(r) = &steps[1].kind else {
            panic!()
        };
        assert_eq!(
            (r.method.as_str(), r.url.source()),
            ("DELETE", "/x/{{ vu }}")
        );
        let StepKind::Request(r) = &steps[0].kind else {
            panic!()
        };
        assert_eq!(r.method, Method::GET);
    }

    #[test]
    fn identifiers() {
        assert!(is_ident("app_id") && is_ident("x-1") && is_ident("_a"));
        assert!(!is_ident("1a") && !is_ident("a.b") && !is_ident("") && !is_ident("a b"));
    }
}
