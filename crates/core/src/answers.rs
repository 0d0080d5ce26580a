//! `check`'s answers kept per `Database` (SQLite only), so that a question asked again costs one
//! probe of the file instead of the five statements that compute it (issue 9).
//!
//! An answer is a function of the database's contents and of `now`, and of nothing else. So a kept
//! answer is given back only while both are as they were:
//! - the contents: SQLite's data version of the main database (`SQLITE_FCNTL_DATA_VERSION`), which
//!   changes with every commit, through this connection or any other, in any process. The pager
//!   learns of other connections' commits when it starts a read transaction, so `Database::
//!   data_version` first runs `PRAGMA data_version` (one read transaction) and then reads it. The
//!   version is read *before* the answer is computed: a commit in between makes the kept version
//!   stale, which can only cause a recomputation, never an old answer.
//! - the time: from the `now` it was computed at up to (not including) the next moment at which a
//!   row it depends on changes by itself: a membership's access expiry, a grant's start or end, a
//!   service account's expiry, of the person asked and of the caller (`rights::Question::next_change`,
//!   read by the same statement as the answer).
//!   Earlier times are not served either.
//!
//! A change of version empties the whole store; so does reaching `CAPACITY` entries; a question longer
//! than `MAX_QUESTION_BYTES` is answered and not kept, so the store stays a few MiB at most. Refusals
//! (errors) are never kept: each is computed and audited afresh. On PostgreSQL nothing is kept:
//! it has no equivalent of the data version here, and several services share one server.

use crate::time::Timestamp;
use crate::usecases::check::CheckAnswer;
use std::collections::HashMap;

/// Entries kept at most; past it the store starts afresh (a service asked about more people than
/// this between two writes gains little from keeping them).
const CAPACITY: usize = 4096;

/// The largest question kept, in bytes of its text. A question's permission, person and workspace
/// come from the caller, unchecked in length when they name nothing (a 1 MiB unknown permission
/// is a plain deny): keeping such answers let one caller grow a service by 4,096 × the body limit
/// (a review measured 49 → 322 MB with 300 questions of 1 MiB). Real questions are far below this
/// (an email is at most 254 bytes, names and slugs are bounded where they are created).
const MAX_QUESTION_BYTES: usize = 1024;

/// What was asked, as asked (after trimming): caller, organization slug, person, permission,
/// workspace name.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) struct Question {
    pub caller: String,
    pub org: String,
    pub email_norm: String,
    pub permission: String,
    pub workspace: Option<String>,
}

impl Question {
    fn bytes(&self) -> usize {
        self.caller.len()
            + self.org.len()
            + self.email_norm.len()
            + self.permission.len()
            + self.workspace.as_ref().map_or(0, String::len)
    }
}

#[derive(Debug)]
struct Kept {
    answer: CheckAnswer,
    from: Timestamp,
    until: Option<Timestamp>,
}

#[derive(Debug, Default)]
pub(crate) struct Answers {
    version: Option<u32>,
    kept: HashMap<Question, Kept>,
    hits: u64,
}

impl Answers {
    /// The kept answer to `q`, if the database is still at `version` and `now` lies within the
    /// time the answer holds for.
    pub fn get(&mut self, version: u32, q: &Question, now: Timestamp) -> Option<CheckAnswer> {
        if self.version != Some(version) {
            self.kept.clear();
            self.version = Some(version);
            return None;
        }
        let kept = self.kept.get(q)?;
        if now < kept.from || kept.until.is_some_and(|until| now >= until) {
            return None;
        }
        self.hits += 1;
        Some(kept.answer.clone())
    }

    /// Keep `answer`, computed at `now` on a database at `version` (read before computing it),
    /// valid until `until` (exclusive; None: no time limit).
    pub fn put(&mut self, version: u32, q: Question, answer: CheckAnswer, now: Timestamp, until: Option<Timestamp>) {
        if q.bytes() > MAX_QUESTION_BYTES {
            return;
        }
        if self.version != Some(version) || self.kept.len() >= CAPACITY {
            self.kept.clear();
            self.version = Some(version);
        }
        self.kept.insert(q, Kept { answer, from: now, until });
    }

    pub fn clear(&mut self) {
        self.kept.clear();
        self.version = None;
    }

    /// How many answers were given from the store so far (for tests).
    pub fn hits(&self) -> u64 {
        self.hits
    }
}
