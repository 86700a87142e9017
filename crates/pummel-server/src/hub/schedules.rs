//! Schedules in the hub: stored run requests that a cron expression (UTC)
//! queues as jobs, checked once a tick.

use chrono::{DateTime, Utc};
use tokio::sync::mpsc;

use super::{tell, Hub};
use crate::store::{unix_now, ScheduleRow};
use crate::wire::{ScheduleInfo, Submit, ToClient};

/// The first firing of `cron` after `after` (Unix seconds), or why the
/// expression does not read.
pub(crate) fn next_firing(cron: &str, after: i64) -> Result<i64, String> {
    let parsed = croner::Cron::new(cron)
        .with_seconds_optional()
        .parse()
        .map_err(|e| format!("the schedule {cron:?} is not a cron expression: {e}"))?;
    let from: DateTime<Utc> = DateTime::from_timestamp(after, 0)
        .ok_or_else(|| format!("no time at Unix second {after}"))?;
    parsed
        .find_next_occurrence(&from, false)
        .map(|at| at.timestamp())
        .map_err(|e| format!("the schedule {cron:?} never fires: {e}"))
}

fn info(row: &ScheduleRow) -> ScheduleInfo {
    ScheduleInfo {
        id: row.id.clone(),
        owner: row.owner.clone(),
        test: row.test.clone(),
        cron: row.cron.clone(),
        next_at: row.next_at,
        created_at: row.created_at,
    }
}

impl Hub {
    /// Stores `submit` under its cron expression.
    pub(super) async fn schedule(
        &mut self,
        owner: &str,
        mut submit: Submit,
        cron: &str,
        tx: &mpsc::UnboundedSender<ToClient>,
    ) {
        let now = unix_now();
        let next_at = match next_firing(cron, now) {
            Ok(next) => next,
            Err(message) => return tell(tx, ToClient::Error { message }),
        };
        if let Err(e) = self.backend.load(&submit.plan) {
            let message = format!("the plan does not load: {e}");
            return tell(tx, ToClient::Error { message });
        }
        submit.schedule = None;
        submit.follow = false;
        submit.queue = true;
        submit.source = "schedule".to_owned();
        let mut bytes = [0u8; 3];
        let _ = getrandom::fill(&mut bytes);
        let row = ScheduleRow {
            id: format!("s{now}-{:02x}{:02x}{:02x}", bytes[0], bytes[1], bytes[2]),
            owner: owner.to_owned(),
            test: submit.test.clone(),
            cron: cron.to_owned(),
            spec: super::jobs::spec_text(&submit),
            next_at,
            created_at: now,
        };
        match self.store.insert_schedule(&row).await {
            Ok(()) => tell(
                tx,
                ToClient::Schedule {
                    schedule: info(&row),
                },
            ),
            Err(e) => tell(
                tx,
                ToClient::Error {
                    message: e.to_string(),
                },
            ),
        }
    }

    /// Queues every schedule that is due, once, and sets its next firing.
    pub(super) async fn fire_schedules(&mut self) {
        let now = unix_now();
        let Ok(all) = self.store.schedules().await else {
            return;
        };
        for row in all.into_iter().filter(|s| s.next_at <= now) {
            // The next firing first: a crash between the two loses one
            // firing rather than repeating it.
            let next = next_firing(&row.cron, now).unwrap_or(i64::MAX);
            if self.store.set_schedule_next(&row.id, next).await.is_err() {
                continue;
            }
            if let Ok(submit) = super::jobs::read_spec(&row.spec) {
                let (tx, _) = mpsc::unbounded_channel();
                self.enqueue(&row.owner, "schedule", submit, &tx).await;
            }
        }
    }

    /// The schedules `owner` may see (an admin: all), or one deleted.
    pub(super) async fn schedules_request(
        &mut self,
        owner: &str,
        admin: bool,
        delete: Option<String>,
        tx: &mpsc::UnboundedSender<ToClient>,
    ) {
        let all = match self.store.schedules().await {
            Ok(all) => all,
            Err(e) => {
                let message = e.to_string();
                return tell(tx, ToClient::Error { message });
            }
        };
        let mine = all.into_iter().filter(|s| admin || s.owner == owner);
        let Some(id) = delete else {
            let schedules = mine.map(|s| info(&s)).collect();
            return tell(tx, ToClient::Schedules { schedules });
        };
        let Some(row) = mine.into_iter().find(|s| s.id == id) else {
            let message = format!("no schedule {id} of yours (see `pummel jobs schedules`)");
            return tell(tx, ToClient::Error { message });
        };
        match self.store.delete_schedule(&id).await {
            Ok(_) => tell(
                tx,
                ToClient::Schedule {
                    schedule: info(&row),
                },
            ),
            Err(e) => tell(
                tx,
                ToClient::Error {
                    message: e.to_string(),
                },
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cron_expressions_give_the_next_firing_in_utc() {
        // 2026-01-01T00:00:00Z; nightly at 02:30.
        let at = 1_767_225_600;
        assert_eq!(
            next_firing("30 2 * * *", at).unwrap(),
            at + 2 * 3600 + 30 * 60
        );
        // Six fields: seconds first.
        assert_eq!(next_firing("*/5 * * * * *", at).unwrap(), at + 5);
        assert!(next_firing("not cron", at)
            .unwrap_err()
            .contains("not a cron expression"));
    }
}
