//! The load model and scenarios of a run's configuration, in words: "4 VUs
//! for 5 s", not the JSON the result records them in.

use serde_json::Value;

use crate::format;

/// A duration in seconds as a reader writes it: `5 s`, `1.5 s`, `250 ms`.
fn duration(s: f64) -> String {
    if s >= 1.0 && s.fract() == 0.0 && s < 60.0 {
        format!("{s:.0} s")
    } else {
        format::seconds(s)
    }
}

fn plural(n: f64, one: &str, many: &str) -> String {
    let word = if n == 1.0 { one } else { many };
    format!("{} {word}", format::rate(n))
}

/// `to 4 over 2 s, to 0 over 1 s`.
fn stages(v: &Value, unit: &str) -> Option<String> {
    let parts: Vec<String> = v
        .as_array()?
        .iter()
        .map(|s| {
            let target = s["target"].as_f64().unwrap_or(0.0);
            let over = s["duration_s"].as_f64().unwrap_or(0.0);
            format!("to {}{unit} over {}", format::rate(target), duration(over))
        })
        .collect();
    Some(parts.join(", "))
}

fn up_to(v: &Value) -> String {
    v["max_vus"].as_f64().map_or_else(String::new, |n| {
        format!(" (up to {})", plural(n, "VU", "VUs"))
    })
}

/// The load model in a sentence; `None` for a shape this report does not know
/// (then the JSON is shown as it is).
pub(super) fn describe(v: &Value) -> Option<String> {
    let num = |key: &str| v[key].as_f64();
    match v["model"].as_str()? {
        "vus" => {
            let vus = plural(num("vus")?, "VU", "VUs");
            Some(match (num("duration_s"), num("iterations")) {
                (Some(d), Some(i)) => format!(
                    "{vus} for {} or {} in all, whichever ends first",
                    duration(d),
                    plural(i, "iteration", "iterations")
                ),
                (Some(d), None) => format!("{vus} for {}", duration(d)),
                (None, Some(i)) => {
                    format!("{vus}, {} in all", plural(i, "iteration", "iterations"))
                }
                (None, None) => vus,
            })
        }
        "stages" => Some(format!(
            "VUs ramping from {}: {}",
            format::rate(num("start_vus").unwrap_or(0.0)),
            stages(&v["stages"], " VUs")?
        )),
        "rate" => Some(format!(
            "{} iterations/s for {}{}",
            format::rate(num("rate")?),
            duration(num("duration_s")?),
            up_to(v)
        )),
        "rate_stages" => Some(format!(
            "iteration rate ramping from {}/s: {}{}",
            format::rate(num("start_rate").unwrap_or(0.0)),
            stages(&v["stages"], "/s")?,
            up_to(v)
        )),
        "cycles" => {
            let levels: Vec<String> = v["levels"]
                .as_array()?
                .iter()
                .filter_map(Value::as_f64)
                .map(format::rate)
                .collect();
            let mut text = format!(
                "cycles of {} VUs, each held {}",
                levels.join(", "),
                duration(num("cycle_duration_s")?)
            );
            if let Some(d) = num("startup_delay_s").filter(|d| *d > 0.0) {
                text.push_str(&format!("; a VU starts every {}", duration(d)));
            }
            if let Some(d) = num("pause_s").filter(|d| *d > 0.0) {
                text.push_str(&format!("; {} pause between cycles", duration(d)));
            }
            Some(text)
        }
        _ => None,
    }
}

/// `browse (weight 1) · buy (weight 9)`, or just the name of a lone scenario.
pub(super) fn scenarios(v: &Value) -> Option<String> {
    let list = v.as_array()?;
    let names: Vec<String> = list
        .iter()
        .map(|s| {
            let name = s["name"].as_str().unwrap_or("?");
            match s["weight"].as_f64() {
                Some(w) if list.len() > 1 => format!("{name} (weight {})", format::rate(w)),
                _ => name.to_owned(),
            }
        })
        .collect();
    Some(names.join(" · "))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn load_models_read_as_sentences() {
        let d = |v: Value| describe(&v).unwrap_or_default();
        assert_eq!(
            d(json!({"duration_s": 5.0, "iterations": null, "model": "vus", "vus": 4})),
            "4 VUs for 5 s"
        );
        assert_eq!(
            d(json!({"duration_s": null, "iterations": 30, "model": "vus", "vus": 1})),
            "1 VU, 30 iterations in all"
        );
        assert_eq!(
            d(json!({"model": "rate", "rate": 20.0, "duration_s": 10.0, "max_vus": 100})),
            "20 iterations/s for 10 s (up to 100 VUs)"
        );
        assert_eq!(
            d(json!({"model": "stages", "start_vus": 0, "stages": [
                {"duration_s": 2.0, "target": 4}, {"duration_s": 1.0, "target": 0}]})),
            "VUs ramping from 0: to 4 VUs over 2 s, to 0 VUs over 1 s"
        );
        assert_eq!(
            d(json!({"model": "cycles", "levels": [5, 10], "cycle_duration_s": 20.0,
                     "startup_delay_s": 0.05, "pause_s": 2.0})),
            "cycles of 5, 10 VUs, each held 20 s; a VU starts every 50 ms; 2 s pause between cycles"
        );
        assert_eq!(describe(&json!({"model": "later"})), None);
    }

    #[test]
    fn scenarios_read_as_a_list() {
        let one = json!([{"name": "browse", "weight": 1}]);
        assert_eq!(scenarios(&one).unwrap_or_default(), "browse");
        let two = json!([{"name": "a", "weight": 1}, {"name": "b", "weight": 9}]);
        assert_eq!(
            scenarios(&two).unwrap_or_default(),
            "a (weight 1) · b (weight 9)"
        );
    }
}
