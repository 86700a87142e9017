//! The expression grammar: operators, precedence, types and conditions.

use super::*;

struct Ctx;

impl Context for Ctx {
    fn var(&self, id: VarId) -> Option<&str> {
        ["42", "2.50", "abc", "", "01234", "false"]
            .get(id.index())
            .copied()
    }
    fn field(&self, _: usize, _: usize) -> Option<&str> {
        None
    }
    fn vu(&self) -> u64 {
        7
    }
    fn iteration(&self) -> u64 {
        3
    }
    fn status(&self) -> Option<u16> {
        Some(503)
    }
}

fn bind(t: &mut Template) {
    t.bind(&mut |n| {
        n.binding = match n.path.as_str() {
            "n" => Binding::Var(VarId(0)),
            "price" => Binding::Var(VarId(1)),
            "word" => Binding::Var(VarId(2)),
            "empty" => Binding::Var(VarId(3)),
            "zip" => Binding::Var(VarId(4)),
            "flag" => Binding::Var(VarId(5)),
            "vu" => Binding::Vu,
            "iteration" => Binding::Iteration,
            "status" => Binding::Status,
            _ => Binding::Unresolved,
        }
    });
}

fn render(text: &str) -> Result<String, String> {
    let mut t = Template::parse(text).map_err(|e| e.message)?;
    bind(&mut t);
    t.render_to_string(&Ctx).map_err(|e| e.message)
}

fn cond(text: &str) -> Result<bool, String> {
    let mut c = Condition::parse(text).map_err(|e| e.message)?;
    bind(c.template_mut());
    c.is_true(&Ctx).map_err(|e| e.message)
}

fn parse_err(text: &str) -> TemplateError {
    match Condition::parse(text) {
        Ok(_) => panic!("{text:?} parsed"),
        Err(e) => e,
    }
}

#[test]
fn arithmetic_renders_its_value() {
    assert_eq!(render("{{ n + 1 }}").unwrap(), "43");
    assert_eq!(render("{{ 1 + 2 * 3 }}").unwrap(), "7");
    assert_eq!(render("{{ (1 + 2) * 3 }}").unwrap(), "9");
    assert_eq!(render("{{ 10 - 4 - 3 }}").unwrap(), "3");
    assert_eq!(render("{{ 7 / 2 }}").unwrap(), "3.5");
    assert_eq!(render("{{ 8 / 2 }}").unwrap(), "4");
    assert_eq!(render("{{ 7 % 3 }}").unwrap(), "1");
    assert_eq!(render("{{ price * 2 }}").unwrap(), "5");
    assert_eq!(render("{{ -n }}").unwrap(), "-42");
    assert_eq!(render("{{ 0.1 + 0.2 > 0.3 }}").unwrap(), "true");
    assert_eq!(render("{{ vu * 100 + iteration }}").unwrap(), "703");
    assert_eq!(render("id-{{ n - 2 }}").unwrap(), "id-40");
    assert_eq!(render("{{ random_int(n - 1, n - 1) }}").unwrap(), "41");
    let overflow = render("{{ 9223372036854775807 + 1 }}").unwrap();
    assert!(overflow.starts_with("922337203685477"), "{overflow}");
}

#[test]
fn comparisons_and_logic() {
    assert!(cond("status == 503").unwrap());
    assert!(cond("status >= 500 and status < 600").unwrap());
    assert!(cond("status == 200 || status == 503").unwrap());
    assert!(!cond("not (status >= 500)").unwrap());
    assert!(
        !cond("not status >= 500").unwrap(),
        "not binds looser than >="
    );
    assert!(cond("!(status < 500)").unwrap());
    assert!(cond("n == 42").unwrap(), "captured text equals a number");
    assert!(cond("n == '42'").unwrap());
    assert!(
        cond("price == 2.5").unwrap(),
        "numerically when a side is a number"
    );
    assert!(
        !cond("zip == '1234'").unwrap(),
        "text with text compares text"
    );
    assert!(cond("zip == '01234'").unwrap());
    assert!(cond("word != 'abd'").unwrap());
    assert!(cond("word == \"abc\" and n > 40").unwrap());
    assert!(
        !cond("word == 1").unwrap(),
        "text that is no number never equals one"
    );
    assert!(cond("n").unwrap(), "non-empty text is true");
    assert!(!cond("empty").unwrap());
    assert!(!cond("flag").unwrap(), "the text `false` is false");
    assert!(
        cond("true or false and false").unwrap(),
        "and binds tighter"
    );
    assert!(cond("{{ status != 200 }}").unwrap(), "braces are allowed");
    assert!(cond("1 < 2 == true").is_err(), "comparisons do not chain");
}

#[test]
fn random_draws_in_range_and_both_ways() {
    let (mut yes, mut no) = (0, 0);
    for _ in 0..2000 {
        let x: f64 = render("{{ random() }}").unwrap().parse().unwrap();
        assert!((0.0..1.0).contains(&x));
        if cond("random() < 0.3").unwrap() {
            yes += 1;
        } else {
            no += 1;
        }
    }
    // 600 expected; far outside this only if the draw is broken.
    assert!((450..750).contains(&yes), "{yes} of {}", yes + no);
}

#[test]
fn and_or_short_circuit() {
    // `word > 1` fails at run time (text is not a number): never reached.
    assert!(!cond("false and word > 1").unwrap());
    assert!(cond("true or word > 1").unwrap());
    assert!(cond("true and word > 1")
        .unwrap_err()
        .contains("needs numbers, but got \"abc\""));
}

#[test]
fn run_time_errors_say_what() {
    assert!(render("{{ n / (n - 42) }}")
        .unwrap_err()
        .contains("division by zero"));
    assert!(render("{{ word * 2 }}").unwrap_err().contains("\"abc\""));
    assert!(render("{{ nobody + 1 }}")
        .unwrap_err()
        .contains("not defined"));
}

#[test]
fn json_keeps_numbers_and_booleans() {
    let json = |text: &str| {
        let mut t = Template::parse(text).unwrap();
        bind(&mut t);
        let mut out = String::new();
        t.render_json(&Ctx, &mut out).map(|_| out).unwrap()
    };
    assert_eq!(json("{{ n * 2 }}"), "84");
    assert_eq!(json("{{ n > 2 }}"), "true");
    assert_eq!(json("{{ status }}"), "503");
    assert_eq!(json("{{ n }}"), "\"42\"");
}

#[test]
fn types_known_at_load_time_are_checked() {
    let cases = [
        (
            "'abc' < 3",
            "needs numbers, but one side is the text \"abc\"",
        ),
        (
            "n > 1 + (n == 2)",
            "`+` needs numbers, but one side is a true-or-false value",
        ),
        (
            "n + 1 and true",
            "`and` joins conditions, but one side is a number",
        ),
        (
            "n == 'x' or 'yes'",
            "`or` joins conditions, but one side is the text \"yes\"",
        ),
        ("3 == true", "can never be equal, so this is always false"),
        ("2 != 'two'", "always true"),
        ("not 3", "`not` negates a condition"),
        ("-'x' < 1", "`-` needs a number"),
        ("n / 0 > 1", "divides by zero"),
        (
            "n + 1",
            "a condition must be true or false, but this is a number",
        ),
        ("'yes'", "a condition must be true or false"),
    ];
    for (text, expected) in cases {
        let e = parse_err(text);
        assert!(e.message.contains(expected), "{text}: {}", e.message);
        assert!(e.end <= text.len() && e.start < e.end, "{text}: {e:?}");
    }
    // '3' reads as a number: allowed, compared at run time.
    assert!(Condition::parse("'3' < n").is_ok());
}

#[test]
fn syntax_errors_point_at_the_problem() {
    let e = parse_err("status = 200");
    assert_eq!(e.start, 7);
    assert!(e.message.contains("compare with `==`"), "{}", e.message);
    let e = parse_err("status ==");
    assert!(
        e.message.contains("`==` needs a value on its right"),
        "{}",
        e.message
    );
    assert_eq!((e.start, e.end), (7, 9));
    let e = parse_err("(status == 200");
    assert!(e.message.contains("closing `)`"), "{}", e.message);
    let e = parse_err("status == 200)");
    assert_eq!(e.start, 13);
    let e = parse_err("and status");
    assert!(e.message.contains("needs a value on its left"));
    let e = parse_err("== 3");
    assert!(e.message.contains("needs a value on its left"));
    let e = parse_err("a < b < c");
    assert!(e.message.contains("do not chain"));
    assert_eq!(e.start, 6);
    let e = parse_err("rand() < 0.5");
    assert!(
        e.message.contains("did you mean `random`?"),
        "{}",
        e.message
    );
    let e = parse_err("   ");
    assert!(e.message.contains("empty"));
    let e = parse_err("x {{ a }}");
    assert!(e.message.contains("unexpected") || e.message.contains("one expression"));
    let e = parse_err("{{ a }} and {{ b }}");
    assert!(e.message.contains("one expression"), "{}", e.message);
    // In a template, offsets are the template's.
    let e = Template::parse("/x/{{ n +  }}").unwrap_err();
    assert_eq!((e.start, e.end), (8, 9));
}

#[test]
fn names_with_dashes_and_keywords() {
    // Names may contain `-` (they always could): `a-1` is a name.
    let t = Template::parse("{{ x-1 }} {{ notes }} {{ order }} {{ android }}").unwrap();
    let names: Vec<&str> = t.names().iter().map(|n| n.path.as_str()).collect();
    assert_eq!(names, vec!["x-1", "notes", "order", "android"]);
    assert_eq!(render("{{ 5-3 }}").unwrap(), "2");
    assert_eq!(render("{{ n -1 }}").unwrap(), "41");
}

#[test]
fn nesting_and_length_are_bounded() {
    let deep = format!("{}1{}", "(".repeat(100), ")".repeat(100));
    assert!(parse_err(&format!("{deep} > 0")).message.contains("nested"));
    let nots = format!("{}true", "not ".repeat(100));
    assert!(parse_err(&nots).message.contains("nested"));
    let long = format!("1{} > 0", " + 1".repeat(300));
    assert!(parse_err(&long).message.contains("operators"));
    let fine = format!("1{} > 0", " + 1".repeat(200));
    assert!(cond(&fine).unwrap());
}
