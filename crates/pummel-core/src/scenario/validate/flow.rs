//! Validation of flow-control steps: a loop's item variable gets a slot,
//! conditions and list items are bound in the scope of the step, a loop
//! over a data feeder names one, and the steps inside are checked in order.
//!
//! The requests of a `parallel` batch are checked each in the scope before
//! the batch: their captures are defined only after it.
//!
//! Captures made inside a loop or a branch stay defined after it: the
//! file may rely on a branch having run, and a value that was not
//! captured fails the step that reads it at run time, as an optional
//! capture's does.

use super::{Checker, Scope};
use crate::scenario::capture::{Capture, CaptureSource};
use crate::scenario::diagnostic::suggest;
use crate::scenario::flow::Repeat;
use crate::scenario::model::{Defaults, StepKind};

impl Checker<'_> {
    /// Slots for the captures inside a loop or an `if`, and for a list
    /// loop's item.
    pub(super) fn assign_flow_slots(
        &mut self,
        kind: &mut StepKind,
        flow: usize,
        names: &mut Vec<String>,
    ) {
        if let StepKind::Loop(l) = kind {
            if let Repeat::List {
                name, var, span, ..
            } = &mut l.repeat
            {
                // The item is set like a capture: through the same slot
                // rules (shared by name, located for messages).
                let mut item = Capture {
                    name: name.clone(),
                    var: *var,
                    source: CaptureSource::Header(String::new()),
                    optional: false,
                    span: *span,
                };
                self.assign_capture_slot(&mut item, flow, names);
                *var = item.var;
            }
        }
        for steps in kind.inner_steps_mut() {
            self.assign_capture_slots(steps, flow, names);
        }
    }

    /// Binds what a loop or an `if` reads, then checks its steps.
    pub(super) fn check_flow_step(
        &mut self,
        kind: &mut StepKind,
        scope: &mut Scope,
        defaults: &mut Defaults,
    ) {
        match kind {
            StepKind::Parallel(p) => {
                // A batch's requests are all rendered before any answers:
                // none sees another's captures, the steps after see them all.
                let before = scope.vars.clone();
                let mut captured = Vec::new();
                for step in &mut p.steps {
                    self.check_steps(std::slice::from_mut(step), scope, defaults);
                    captured.extend(scope.vars.difference(&before).cloned());
                    scope.vars.clone_from(&before);
                }
                scope.vars.extend(captured);
                return;
            }
            StepKind::If(i) => {
                self.check_template(i.condition.template_mut(), scope, None);
            }
            StepKind::Loop(l) => match &mut l.repeat {
                Repeat::Count(_) => {}
                Repeat::While { condition, .. } => {
                    self.check_template(condition.template_mut(), scope, None);
                }
                Repeat::List { items, name, .. } => {
                    for item in items {
                        self.check_template(item, scope, None);
                    }
                    scope.vars.insert(name.clone());
                }
                Repeat::Feeder { name, span, feeder } => {
                    *feeder = self.feeders.iter().position(|f| f.name == *name);
                    if feeder.is_none() {
                        let base = format!("`over: {name}`: no data feeder is named `{name}`");
                        let message =
                            match suggest(name, self.feeders.iter().map(|f| f.name.as_str())) {
                                Some(s) => format!("{base} (did you mean `{s}`?)"),
                                None => format!(
                                    "{base} (to loop over values, write a list: `over: [a, b]`)"
                                ),
                            };
                        self.problems.push(*span, message);
                    } else if !scope.feeders {
                        self.problems.push(
                            *span,
                            format!(
                                "data feeders cannot be used in {}: they belong to a VU's iterations",
                                scope.place
                            ),
                        );
                    }
                }
            },
            _ => {}
        }
        for steps in kind.inner_steps_mut() {
            self.check_steps(steps, scope, defaults);
        }
    }
}
