//! The background job beside the server, as its readers see it: a banner on every page for
//! directors and admins (step, done / total, time left in the step), its failure for admins,
//! and `GET /api/v1/job`, which the pages poll to update the banner and to drop it, and the
//! provisional label, once the full model serves.
//!
//! Why here: the demo serves a provisional model within a minute and trains the full one in
//! the background; a director must see that the numbers are provisional and when the better
//! ones come, an admin must see a failure, and nobody should need to reload to find out.

use crate::auth::Caller;
use crate::state::AppState;
use axum::extract::State;
use axum::{Extension, Json};
use storecast_pipeline::background::JobStatus;
use storecast_store::Role;

/// "40 s", "3 min", "1 h 5 min".
fn duration(seconds: f64) -> String {
    let s = seconds.max(0.0).round() as u64;
    match s {
        0..60 => format!("{s} s"),
        60..3600 => format!("{} min", (s + 30) / 60),
        _ => format!("{} h {} min", s / 3600, (s % 3600) / 60),
    }
}

/// The banner's text for `role`: `None` when there is nothing to say (no job, the job done,
/// or a store manager, who sees only the provisional label).
pub fn banner(status: Option<&JobStatus>, role: &Role) -> Option<String> {
    let s = status?;
    if !role.can_view_chain() {
        return None;
    }
    match (&s.error, s.running) {
        (Some(e), _) if role.is_admin() => Some(format!(
            "{} failed: {e}. The model served now keeps serving; see the server's log.",
            capitalised(&s.job)
        )),
        (Some(_), _) => Some(format!(
            "{} stopped; the model served now keeps serving (an admin sees why).",
            capitalised(&s.job)
        )),
        (None, false) => None,
        (None, true) => {
            let step = s.step.as_deref().unwrap_or("starting");
            let left = s.step_eta_seconds.map_or(String::new(), |e| {
                format!(", about {} left in this step", duration(e))
            });
            Some(format!(
                "{}: {step} {} / {}{left} ({} so far).",
                capitalised(&s.job),
                s.done,
                s.total,
                duration(s.elapsed_seconds)
            ))
        }
    }
}

fn capitalised(text: &str) -> String {
    let mut c = text.chars();
    c.next()
        .map_or(String::new(), |f| f.to_uppercase().chain(c).collect())
}

/// `GET /api/v1/job`: the served model's identity (provisional or not) for everyone signed
/// in; the background job's status and banner for directors and admins (its error for admins).
#[utoipa::path(get, path = "/api/v1/job", tag = "model", summary = "The served model's identity (provisional or not); the background job's step, done / total and time left for directors and admins, its error for admins", responses((status = 200, description = "job status", body = JobBody)))]
pub async fn status(
    State(st): State<AppState>,
    Extension(caller): Extension<Caller>,
) -> axum::response::Response {
    use axum::response::IntoResponse;
    let m = st.model.load();
    let a = m.artifact();
    let job = st.job.as_ref().map(|b| b.status());
    let shown = job.filter(|_| caller.role.can_view_chain()).map(|mut j| {
        if !caller.role.is_admin() {
            j.error = j.error.map(|_| "failed (an admin sees why)".into());
        }
        j
    });
    Json(JobBody {
        model_version: &a.model_version,
        provisional: a.provisional,
        provisional_note: a.provisional_note(),
        banner: banner(shown.as_ref(), &caller.role),
        job: shown,
    })
    .into_response()
}

/// The job API's answer: the served model, and the background job as the caller may see it.
#[derive(utoipa::ToSchema, Debug, serde::Serialize)]
pub struct JobBody<'a> {
    /// The served model.
    pub model_version: &'a str,
    /// Whether it is the provisional one.
    pub provisional: bool,
    /// What to say about it, when provisional.
    pub provisional_note: Option<String>,
    /// The banner to show, if any.
    pub banner: Option<String>,
    /// The job (directors and admins).
    pub job: Option<JobStatus>,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn running(step: &str, done: u64, total: u64, eta: Option<f64>) -> JobStatus {
        JobStatus {
            job: "training the full model".into(),
            running: true,
            step: Some(step.into()),
            done,
            total,
            elapsed_seconds: 95.0,
            step_eta_seconds: eta,
            error: None,
            ended_at: None,
        }
    }

    #[test]
    fn the_banner_says_step_counts_and_time_left_to_directors_only() {
        let s = running("backtest", 1, 3, Some(130.0));
        let text = banner(Some(&s), &Role::Director).expect("a banner");
        assert_eq!(
            text,
            "Training the full model: backtest 1 / 3, about 2 min left in this step (2 min so far)."
        );
        assert_eq!(banner(Some(&s), &Role::Viewer { stores: vec![1] }), None);
        assert_eq!(banner(None, &Role::Admin), None);
    }

    #[test]
    fn a_failure_is_named_to_admins_and_said_to_directors() {
        let mut s = running("final fit", 0, 1, None);
        s.running = false;
        s.error = Some("disk full".into());
        let admin = banner(Some(&s), &Role::Admin).expect("a banner");
        assert!(
            admin.contains("disk full") && admin.contains("keeps serving"),
            "{admin}"
        );
        let director = banner(Some(&s), &Role::Director).expect("a banner");
        assert!(!director.contains("disk full") && director.contains("an admin sees why"));
        s.error = None;
        assert_eq!(
            banner(Some(&s), &Role::Admin),
            None,
            "a finished job has no banner"
        );
    }

    #[test]
    fn durations_read_as_people_say_them() {
        assert_eq!(duration(42.4), "42 s");
        assert_eq!(duration(150.0), "3 min");
        assert_eq!(duration(3900.0), "1 h 5 min");
    }
}
