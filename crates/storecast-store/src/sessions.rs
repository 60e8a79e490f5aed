//! Server-side sessions of the web app.
//!
//! Why this module exists: a browser must not hold the user's permanent API token (issue 13,
//! point 3). Signing in with the token starts a session: the cookie carries a fresh random id
//! (256 bits) whose HMAC under the server key is the only thing stored, with a CSRF token bound
//! to that session, an idle and an absolute expiry, and signing out deletes it. Revoking the
//! user ends their sessions (`users::revoke_user`). Starting and ending a session are audited;
//! the `last_seen` touch of each request is not (it would flood the log).

use crate::audit::{self, actions};
use crate::error::StoreError;
use crate::keys::hex;
use crate::users::{user_row, User, USER_COLUMNS};
use crate::Store;
use chrono::{DateTime, SecondsFormat, Utc};
use rand::rngs::OsRng;
use rand::RngCore;
use rusqlite::{params, OptionalExtension};
use serde_json::json;
use std::time::Duration;

/// Bytes of randomness in a session id.
const SESSION_ID_BYTES: usize = 32;
/// Bytes of randomness in a session's CSRF token.
const CSRF_BYTES: usize = 16;

/// How long a session lives.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SessionPolicy {
    /// Ended after this long without a request.
    pub idle: Duration,
    /// Ended this long after sign-in, however active.
    pub absolute: Duration,
    /// Live sessions one user may hold; a sign-in beyond it ends that user's oldest.
    pub max_per_user: usize,
}

impl Default for SessionPolicy {
    /// 30 minutes idle, 12 hours at most (a working day), as OWASP suggests for low-risk apps.
    fn default() -> Self {
        Self {
            idle: Duration::from_secs(30 * 60),
            absolute: Duration::from_secs(12 * 3600),
            max_per_user: 10,
        }
    }
}

/// A session just started: the id goes into the cookie and is never stored.
pub struct NewSession {
    /// The session id (64 hex digits).
    pub id: String,
    /// The CSRF token bound to the session.
    pub csrf: String,
}

impl std::fmt::Debug for NewSession {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("NewSession(<redacted>)")
    }
}

/// A live session.
#[derive(Debug, Clone)]
pub struct Session {
    /// Whose.
    pub user: User,
    /// Its CSRF token.
    pub csrf: String,
}

fn random_hex(bytes: usize) -> String {
    let mut b = vec![0u8; bytes];
    OsRng.fill_bytes(&mut b);
    hex(&b)
}

fn stamp(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Millis, true)
}

fn before(now: DateTime<Utc>, d: Duration) -> String {
    stamp(now - chrono::Duration::from_std(d).unwrap_or(chrono::Duration::MAX))
}

impl Store {
    fn session_hash(&self, id: &str) -> String {
        self.keys.session.mac_hex(&[id.as_bytes()])
    }

    /// Starts a session for `user` (audited); sessions past `policy` are purged on the way,
    /// and the user's oldest beyond `policy.max_per_user` end (counted in the audit row).
    pub fn start_session(
        &self,
        user: &User,
        policy: &SessionPolicy,
    ) -> Result<NewSession, StoreError> {
        let id = random_hex(SESSION_ID_BYTES);
        let csrf = random_hex(CSRF_BYTES);
        let hash = self.session_hash(&id);
        let now = Utc::now();
        self.write(|tx| {
            tx.execute(
                "DELETE FROM sessions WHERE created_at <= ?1 OR last_seen <= ?2",
                params![before(now, policy.absolute), before(now, policy.idle)],
            )?;
            tx.execute(
                "INSERT INTO sessions (id_hash, user_id, csrf, created_at, last_seen)
                 VALUES (?1, ?2, ?3, ?4, ?4)",
                params![hash, user.id, csrf, stamp(now)],
            )?;
            // The new session stays; of the others, the newest `max_per_user - 1` do.
            let others = i64::try_from(policy.max_per_user.max(1) - 1).unwrap_or(i64::MAX);
            let ended = tx.execute(
                "DELETE FROM sessions WHERE user_id = ?1 AND id_hash != ?2 AND id_hash NOT IN
                 (SELECT id_hash FROM sessions WHERE user_id = ?1 AND id_hash != ?2
                  ORDER BY created_at DESC LIMIT ?3)",
                params![user.id, hash, others],
            )?;
            audit::append(
                tx,
                &self.keys,
                &user.name,
                actions::SESSION_START,
                &user.name,
                &json!({ "user_id": user.id, "oldest_ended": ended }),
            )?;
            Ok::<_, StoreError>(())
        })?;
        Ok(NewSession { id, csrf })
    }

    /// The live session with this id, touched (its idle clock restarts); `None` when unknown,
    /// expired under `policy`, or its user is revoked or expired.
    pub fn session(&self, id: &str, policy: &SessionPolicy) -> Result<Option<Session>, StoreError> {
        let hash = self.session_hash(id);
        let now = Utc::now();
        let found = self
            .conn()
            .query_row(
                "SELECT user_id, csrf FROM sessions
                 WHERE id_hash = ?1 AND created_at > ?2 AND last_seen > ?3",
                params![hash, before(now, policy.absolute), before(now, policy.idle)],
                |r| Ok((r.get::<_, i64>(0)?, r.get::<_, String>(1)?)),
            )
            .optional()?;
        let Some((user_id, csrf)) = found else {
            return Ok(None);
        };
        let user = self
            .conn()
            .query_row(
                &format!("SELECT {USER_COLUMNS} FROM users WHERE id = ?1"),
                [user_id],
                user_row,
            )
            .optional()?;
        let Some(user) = user.filter(|u| u.revoked_at.is_none() && !u.is_expired(&stamp(now)))
        else {
            return Ok(None);
        };
        self.conn().execute(
            "UPDATE sessions SET last_seen = ?1 WHERE id_hash = ?2",
            params![stamp(now), hash],
        )?;
        Ok(Some(Session { user, csrf }))
    }

    /// Ends the session with this id (audited); `false` when there was none.
    pub fn end_session(&self, id: &str) -> Result<bool, StoreError> {
        let hash = self.session_hash(id);
        self.write(|tx| {
            let user: Option<(i64, String)> = tx
                .query_row(
                    "SELECT u.id, u.name FROM sessions s JOIN users u ON u.id = s.user_id
                     WHERE s.id_hash = ?1",
                    [&hash],
                    |r| Ok((r.get(0)?, r.get(1)?)),
                )
                .optional()?;
            let Some((user_id, name)) = user else {
                return Ok(false);
            };
            tx.execute("DELETE FROM sessions WHERE id_hash = ?1", [&hash])?;
            audit::append(
                tx,
                &self.keys,
                &name,
                actions::SESSION_END,
                &name,
                &json!({ "user_id": user_id }),
            )?;
            Ok::<_, StoreError>(true)
        })
    }
}
