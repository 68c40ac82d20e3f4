//! Drift, decided cheaply: from what the ledger recorded and what Graph's photo metadata
//! says now (one `$batch` request per 20 users, m365-facts B§2.2), whether a user needs a
//! `sync-user` job. Pure, so every rule has a test.

use crate::graph::PhotoState;
use crate::ledger::UserState;
use crate::photo::Target;

/// What the reconcile does about one user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    /// Nothing to do.
    Nothing,
    /// Queue a job, with why (for logs and the report).
    Enqueue(&'static str),
}

/// The rule. `photo` is the user's Microsoft 365 photo now; `targets` the configured
/// targets; `max_attempts` stops retrying a user that keeps failing.
pub fn decide(
    state: Option<&UserState>,
    photo: &PhotoState,
    targets: &[Target],
    max_attempts: u32,
) -> Decision {
    let empty = UserState::default();
    let state = state.unwrap_or(&empty);
    if let Some(f) = &state.failure {
        if f.retryable && f.attempts < max_attempts {
            return Decision::Enqueue("the last attempt failed and may succeed now");
        }
        if !f.retryable {
            // A permanent failure (an unusable photo, no mailbox) waits for a new source
            // photo or an operator; retrying every night would only repeat it.
            return Decision::Nothing;
        }
    }
    let current_etag = match photo {
        PhotoState::Present(meta) => Some(meta.etag.as_str()),
        PhotoState::Absent => None,
    };
    let recorded_etag = state.targets.get("m365").and_then(|t| t.etag.as_deref());
    let others_missing = targets
        .iter()
        .filter(|t| **t != Target::M365)
        .any(|t| !state.targets.contains_key(t.name()));
    let accepted = state.source.as_ref().is_some_and(|s| s.origin != "m365");
    if accepted {
        // photo-sync holds the authoritative photo: every target must hold it.
        if targets.contains(&Target::M365) && current_etag != recorded_etag {
            return Decision::Enqueue(if current_etag.is_none() {
                "the Microsoft 365 photo was removed"
            } else {
                "the Microsoft 365 photo changed since photo-sync wrote it"
            });
        }
        if others_missing {
            return Decision::Enqueue("a target has not received the photo yet");
        }
        return Decision::Nothing;
    }
    // Microsoft 365 is the source: other targets follow it.
    let Some(etag) = current_etag else {
        return Decision::Nothing;
    };
    let followers = targets.iter().any(|t| *t != Target::M365);
    if !followers {
        return Decision::Nothing;
    }
    if recorded_etag != Some(etag) {
        return Decision::Enqueue("the Microsoft 365 photo is new to the other targets");
    }
    if others_missing {
        return Decision::Enqueue("a target has not received the photo yet");
    }
    Decision::Nothing
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::graph::PhotoMeta;
    use crate::ledger::{FailureRecord, SourceRecord, TargetRecord};

    fn present(etag: &str) -> PhotoState {
        PhotoState::Present(PhotoMeta {
            etag: etag.into(),
            width: 648,
            height: 648,
            content_type: "image/jpeg".into(),
        })
    }

    fn state(origin: &str, m365_etag: Option<&str>, others: &[&str]) -> UserState {
        let mut s = UserState {
            source: Some(SourceRecord {
                origin: origin.into(),
                sha256: "s".into(),
                phash: 1,
                accepted_at: 0,
            }),
            ..UserState::default()
        };
        let rec = |etag: Option<&str>| TargetRecord {
            sha256: "r".into(),
            phash: 1,
            etag: etag.map(str::to_string),
            written_at: 0,
        };
        if let Some(e) = m365_etag {
            s.targets.insert("m365".into(), rec(Some(e)));
        }
        for t in others {
            s.targets.insert((*t).into(), rec(None));
        }
        s
    }

    const M365: &[Target] = &[Target::M365];
    const BOTH: &[Target] = &[Target::M365, Target::SharePoint];

    #[test]
    fn unchanged_accepted_photo_needs_nothing() {
        let s = state("hr", Some("e1"), &["sharepoint"]);
        assert_eq!(decide(Some(&s), &present("e1"), BOTH, 5), Decision::Nothing);
    }

    #[test]
    fn changed_or_removed_m365_photo_is_restored() {
        let s = state("hr", Some("e1"), &[]);
        assert!(matches!(
            decide(Some(&s), &present("e2"), M365, 5),
            Decision::Enqueue(_)
        ));
        assert!(matches!(
            decide(Some(&s), &PhotoState::Absent, M365, 5),
            Decision::Enqueue(_)
        ));
    }

    #[test]
    fn missing_target_record_is_written() {
        let s = state("hr", Some("e1"), &[]);
        assert!(matches!(
            decide(Some(&s), &present("e1"), BOTH, 5),
            Decision::Enqueue(_)
        ));
    }

    #[test]
    fn m365_as_only_source_and_target_needs_nothing() {
        assert_eq!(decide(None, &present("e1"), M365, 5), Decision::Nothing);
        assert_eq!(
            decide(None, &PhotoState::Absent, BOTH, 5),
            Decision::Nothing
        );
    }

    #[test]
    fn m365_photo_feeds_other_targets_once() {
        assert!(matches!(
            decide(None, &present("e1"), BOTH, 5),
            Decision::Enqueue(_)
        ));
        let s = state("m365", Some("e1"), &["sharepoint"]);
        assert_eq!(decide(Some(&s), &present("e1"), BOTH, 5), Decision::Nothing);
        assert!(matches!(
            decide(Some(&s), &present("e2"), BOTH, 5),
            Decision::Enqueue(_)
        ));
    }

    #[test]
    fn failures_retry_until_the_attempt_cap_and_permanent_ones_wait() {
        let mut s = state("hr", Some("e1"), &[]);
        s.failure = Some(FailureRecord {
            attempts: 2,
            error: "throttled".into(),
            retryable: true,
            at: 0,
        });
        assert!(matches!(
            decide(Some(&s), &present("e1"), M365, 5),
            Decision::Enqueue(_)
        ));
        assert_eq!(decide(Some(&s), &present("e1"), M365, 2), Decision::Nothing);
        if let Some(f) = s.failure.as_mut() {
            f.retryable = false;
        }
        assert_eq!(decide(Some(&s), &present("e2"), M365, 5), Decision::Nothing);
    }
}
