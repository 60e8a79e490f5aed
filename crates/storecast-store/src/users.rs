//! Users, roles and bearer tokens.
//!
//! Why this module exists: the app shows store-level numbers to store managers (their stores
//! only), chain-wide numbers to directors, and administration to admins; each request must be
//! tied to a person who can be cut off. A token is shown once when the user is created and only
//! its HMAC-SHA-256 under the server key ([`crate::keys`]) is stored, so a copy of the database
//! does not grant access, nor allow guessing offline without the key. Tokens are 256-bit random
//! secrets, so a keyed fast hash is the right tool: a slow password hash (Argon2) only adds
//! cost to every request and, as found in issue 13, hands an attacker who knows a token's public
//! id a memory- and CPU-exhaustion lever and a timing oracle. A token carries a public id
//! (`<id>.<secret>`) to find its row; an unknown id costs the same HMAC and comparison as a
//! known one, and comparisons are constant-time. Tokens may carry an expiry.

use crate::audit::{self, actions};
use crate::error::StoreError;
use crate::keys::{hex, Key};
use crate::Store;
use rand::rngs::OsRng;
use rand::RngCore;
use rusqlite::{params, OptionalExtension, Row};
use serde::Serialize;
use serde_json::json;

/// Bytes of randomness in a token's public id.
const TOKEN_ID_BYTES: usize = 8;
/// Bytes of randomness in a token's secret.
const TOKEN_SECRET_BYTES: usize = 32;
/// Prefix of a stored token hash (the scheme, so a future change can be told apart).
const HASH_SCHEME: &str = "hmac-sha256:";

/// What a user may see and do.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "role", rename_all = "lowercase")]
pub enum Role {
    /// Sees the forecasts of the listed stores only (a store or area manager).
    Viewer {
        /// Store ids, ascending, not empty.
        stores: Vec<u16>,
    },
    /// Sees every store and chain-wide figures.
    Director,
    /// Everything a director sees, plus administration (users, models, ingestion).
    Admin,
}

/// The latest expiry a token can have: the end of 9999-12-31 (UTC). Expiries are stored as
/// RFC 3339 text and compared as text, which holds only for four-digit years.
pub fn max_expiry() -> chrono::DateTime<chrono::Utc> {
    chrono::NaiveDate::from_ymd_opt(9999, 12, 31)
        .and_then(|d| d.and_hms_milli_opt(23, 59, 59, 999))
        .map_or(chrono::DateTime::<chrono::Utc>::MAX_UTC, |t| t.and_utc())
}

/// When a token stops working, from `Nd` (days from `now`) or a date (the token works through
/// the end of that day, UTC); refused unless it is after `now` and no later than
/// [`max_expiry`] (the end of 9999-12-31 itself is accepted).
pub fn expiry_from(
    text: &str,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<chrono::DateTime<chrono::Utc>, String> {
    let too_far = || format!("{text:?} is after 9999-12-31, the latest expiry");
    let at = if let Some(days) = text.strip_suffix('d') {
        let n: i64 = days
            .parse()
            .map_err(|_| format!("{text:?}: expected a number of days like 90d"))?;
        chrono::Duration::try_days(n)
            .and_then(|d| now.checked_add_signed(d))
            .ok_or_else(too_far)?
    } else {
        let d = chrono::NaiveDate::parse_from_str(text, "%Y-%m-%d")
            .map_err(|_| format!("{text:?}: expected 90d or a date like 2027-03-31"))?;
        d.and_hms_milli_opt(23, 59, 59, 999)
            .map(|t| t.and_utc())
            .ok_or_else(|| format!("{text:?}: not a date"))?
    };
    if at > max_expiry() {
        return Err(too_far());
    }
    if at <= now {
        return Err(format!("{text:?} is not in the future"));
    }
    Ok(at)
}

impl Role {
    /// A viewer of `stores` (sorted, deduplicated; at least one store, none is 0).
    pub fn viewer(stores: impl IntoIterator<Item = u16>) -> Result<Self, StoreError> {
        let mut stores: Vec<u16> = stores.into_iter().collect();
        stores.sort_unstable();
        stores.dedup();
        if stores.is_empty() || stores.first() == Some(&0) {
            return Err(StoreError::InvalidInput(
                "a viewer needs at least one store id (1..=65535)".into(),
            ));
        }
        Ok(Self::Viewer { stores })
    }

    /// Parses a role name (`viewer`, `director`, `admin`) with the viewer's stores; only a
    /// viewer takes stores.
    pub fn parse(kind: &str, stores: &[u16]) -> Result<Self, StoreError> {
        match kind {
            "viewer" => Self::viewer(stores.iter().copied()),
            "director" | "admin" if !stores.is_empty() => Err(StoreError::InvalidInput(format!(
                "a {kind} sees every store; stores are only given to viewers"
            ))),
            "director" => Ok(Self::Director),
            "admin" => Ok(Self::Admin),
            other => Err(StoreError::InvalidInput(format!(
                "unknown role {other:?} (viewer, director or admin)"
            ))),
        }
    }

    /// The role's name as stored.
    pub fn kind(&self) -> &'static str {
        match self {
            Self::Viewer { .. } => "viewer",
            Self::Director => "director",
            Self::Admin => "admin",
        }
    }

    /// The stores a viewer may see; `None` means every store.
    pub fn stores(&self) -> Option<&[u16]> {
        match self {
            Self::Viewer { stores } => Some(stores),
            _ => None,
        }
    }

    /// Whether this role may see store `store`'s numbers.
    pub fn can_view_store(&self, store: u16) -> bool {
        match self {
            Self::Viewer { stores } => stores.binary_search(&store).is_ok(),
            Self::Director | Self::Admin => true,
        }
    }

    /// Whether this role may see chain-wide figures (all stores).
    pub fn can_view_chain(&self) -> bool {
        matches!(self, Self::Director | Self::Admin)
    }

    /// Whether this role may administer (users, models, ingestion).
    pub fn is_admin(&self) -> bool {
        matches!(self, Self::Admin)
    }
}

/// A user (never holds the token or its hash).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct User {
    /// Row id.
    pub id: i64,
    /// Unique name.
    pub name: String,
    /// Role (with a viewer's stores).
    pub role: Role,
    /// When created (RFC 3339 UTC).
    pub created_at: String,
    /// When revoked, if revoked.
    pub revoked_at: Option<String>,
    /// When the token stops working (RFC 3339 UTC), if it expires.
    pub expires_at: Option<String>,
}

impl User {
    /// Not revoked (an expired token is still an active user: rotate it to give access again).
    pub fn is_active(&self) -> bool {
        self.revoked_at.is_none()
    }

    /// Whether the token has expired at `now` (RFC 3339 UTC text, as stored).
    pub fn is_expired(&self, now: &str) -> bool {
        self.expires_at.as_deref().is_some_and(|e| e <= now)
    }

    /// See [`Role::can_view_store`].
    pub fn can_view_store(&self, store: u16) -> bool {
        self.role.can_view_store(store)
    }

    /// See [`Role::is_admin`].
    pub fn is_admin(&self) -> bool {
        self.role.is_admin()
    }
}

/// A plaintext bearer token, `<id>.<secret>`, returned once at creation. Its `Debug` never
/// shows it; read it with [`Token::expose`] only to hand it to the user.
#[derive(Clone, PartialEq, Eq)]
pub struct Token(String);

impl Token {
    /// The token text, to show to its owner once.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Token {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Token(<redacted>)")
    }
}

pub(crate) fn random_hex(n: usize) -> String {
    let mut bytes = vec![0u8; n];
    OsRng.fill_bytes(&mut bytes);
    hex(&bytes)
}

fn is_hex(s: &str, len: usize) -> bool {
    s.len() == len
        && s.bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

/// Splits a token into (id, secret) when it has the right shape.
fn split_token(token: &str) -> Option<(&str, &str)> {
    let (id, secret) = token.trim().split_once('.')?;
    (is_hex(id, 2 * TOKEN_ID_BYTES) && is_hex(secret, 2 * TOKEN_SECRET_BYTES))
        .then_some((id, secret))
}

/// A fresh token: (token, its id, its keyed hash).
fn new_token(key: &Key) -> (Token, String, String) {
    let id = random_hex(TOKEN_ID_BYTES);
    let secret = random_hex(TOKEN_SECRET_BYTES);
    let hash = token_hash(key, &id, &secret);
    (Token(format!("{id}.{secret}")), id, hash)
}

/// The stored form of a token: `hmac-sha256:` and the HMAC of its id and secret.
fn token_hash(key: &Key, id: &str, secret: &str) -> String {
    format!(
        "{HASH_SCHEME}{}",
        key.mac_hex(&[id.as_bytes(), secret.as_bytes()])
    )
}

/// Whether `secret` matches the stored hash (constant-time; a legacy Argon2 hash never does).
fn verify(key: &Key, id: &str, secret: &str, stored: &str) -> bool {
    let tag = stored.strip_prefix(HASH_SCHEME).unwrap_or("");
    let ok = key.verify_hex(&[id.as_bytes(), secret.as_bytes()], tag);
    ok && stored.starts_with(HASH_SCHEME)
}

fn check_name(name: &str) -> Result<(), StoreError> {
    let ok = !name.is_empty()
        && name.len() <= 64
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-' | b'@'));
    if ok {
        Ok(())
    } else {
        Err(StoreError::InvalidInput(format!(
            "user name {name:?}: use 1 to 64 letters, digits, '.', '_', '-' or '@'"
        )))
    }
}

pub(crate) const USER_COLUMNS: &str = "id, name, role, stores, created_at, revoked_at, expires_at";

pub(crate) fn user_row(r: &Row<'_>) -> rusqlite::Result<User> {
    let id: i64 = r.get(0)?;
    let kind: String = r.get(2)?;
    let stores: String = r.get(3)?;
    let bad = |what: String| {
        rusqlite::Error::FromSqlConversionFailure(2, rusqlite::types::Type::Text, what.into())
    };
    let stores: Vec<u16> =
        serde_json::from_str(&stores).map_err(|e| bad(format!("user {id}: stores: {e}")))?;
    let role = Role::parse(&kind, &stores).map_err(|e| bad(format!("user {id}: {e}")))?;
    Ok(User {
        id,
        name: r.get(1)?,
        role,
        created_at: r.get(4)?,
        revoked_at: r.get(5)?,
        expires_at: r.get(6)?,
    })
}

/// Why an authentication failed (for the server's log; the client is told nothing more).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuthFailure {
    /// Not of the form `<16 hex>.<64 hex>`.
    Malformed,
    /// No user has this token id.
    UnknownId,
    /// The id exists but the secret is wrong.
    WrongSecret,
    /// The user was revoked.
    Revoked,
    /// The token has expired.
    Expired,
    /// The stored hash is from before schema 2 (Argon2): the token must be rotated.
    LegacyHash,
}

impl AuthFailure {
    /// A short label for logs.
    pub fn label(self) -> &'static str {
        match self {
            Self::Malformed => "malformed token",
            Self::UnknownId => "unknown token id",
            Self::WrongSecret => "wrong secret",
            Self::Revoked => "revoked user",
            Self::Expired => "expired token",
            Self::LegacyHash => "legacy token hash (rotate the token)",
        }
    }
}

/// The outcome of [`Store::check_token`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AuthOutcome {
    /// The active user owning the token.
    Ok(User),
    /// Refused, and why.
    Refused {
        /// Why.
        reason: AuthFailure,
        /// The token's public id when it had the right shape (never the secret).
        token_id: Option<String>,
    },
}

fn expiry_text(expires: Option<chrono::DateTime<chrono::Utc>>) -> Option<String> {
    expires.map(|e| {
        e.min(max_expiry())
            .to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
    })
}

impl Store {
    /// Creates a user and returns it with its token, the only time the token is visible.
    /// Names are unique, also against revoked users.
    pub fn add_user(
        &self,
        actor: &str,
        name: &str,
        role: Role,
    ) -> Result<(User, Token), StoreError> {
        self.add_user_expiring(actor, name, role, None)
    }

    /// [`Store::add_user`] with a token that stops working at `expires` (`None`: never).
    pub fn add_user_expiring(
        &self,
        actor: &str,
        name: &str,
        role: Role,
        expires: Option<chrono::DateTime<chrono::Utc>>,
    ) -> Result<(User, Token), StoreError> {
        check_name(name)?;
        // Re-validate (a `Role::Viewer` built by hand may be unsorted or empty).
        let role = Role::parse(role.kind(), role.stores().unwrap_or_default())?;
        let (token, token_id, hash) = new_token(&self.keys.token);
        let stores = serde_json::to_string(role.stores().unwrap_or_default())?;
        let expires_at = expiry_text(expires);
        if expires_at.as_deref().is_some_and(|e| *e <= *crate::now()) {
            return Err(StoreError::InvalidInput(
                "the token's expiry is in the past".into(),
            ));
        }
        let user = self.write(|tx| {
            let exists: bool = tx
                .query_row("SELECT 1 FROM users WHERE name = ?1", [name], |_| Ok(()))
                .optional()?
                .is_some();
            if exists {
                return Err(StoreError::UserExists(name.to_string()));
            }
            let now = crate::now();
            tx.execute(
                "INSERT INTO users (name, role, stores, token_id, token_hash, created_at, expires_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                params![name, role.kind(), stores, token_id, hash, now, expires_at],
            )?;
            let user = User {
                id: tx.last_insert_rowid(),
                name: name.to_string(),
                role: role.clone(),
                created_at: now,
                revoked_at: None,
                expires_at: expires_at.clone(),
            };
            audit::append(
                tx,
                &self.keys,
                actor,
                actions::USER_ADD,
                name,
                &json!({ "user_id": user.id, "role": role.kind(), "stores": role.stores(), "expires_at": expires_at }),
            )?;
            Ok(user)
        })?;
        Ok((user, token))
    }

    /// Every user, revoked ones included, by id.
    pub fn list_users(&self) -> Result<Vec<User>, StoreError> {
        let conn = self.conn();
        let mut stmt = conn.prepare(&format!("SELECT {USER_COLUMNS} FROM users ORDER BY id"))?;
        let rows = stmt.query_map([], user_row)?;
        rows.map(|r| r.map_err(StoreError::from)).collect()
    }

    /// The user named `name`, if any.
    pub fn user(&self, name: &str) -> Result<Option<User>, StoreError> {
        let conn = self.conn();
        Ok(conn
            .query_row(
                &format!("SELECT {USER_COLUMNS} FROM users WHERE name = ?1"),
                [name],
                user_row,
            )
            .optional()?)
    }

    /// Names of users whose stored hash predates schema 2 (their tokens no longer work).
    pub fn users_needing_rotation(&self) -> Result<Vec<String>, StoreError> {
        let conn = self.conn();
        let mut stmt = conn.prepare(&format!(
            "SELECT name FROM users WHERE revoked_at IS NULL AND token_hash NOT LIKE '{HASH_SCHEME}%' ORDER BY id"
        ))?;
        let rows = stmt.query_map([], |r| r.get::<_, String>(0))?;
        rows.map(|r| r.map_err(StoreError::from)).collect()
    }

    /// Revokes a user: their token stops working at once (also in other processes: every
    /// authentication re-reads the row), and their sessions end. The row stays, for the audit
    /// trail.
    pub fn revoke_user(&self, actor: &str, name: &str) -> Result<User, StoreError> {
        self.write(|tx| {
            let found = tx
                .query_row(
                    &format!("SELECT {USER_COLUMNS} FROM users WHERE name = ?1"),
                    [name],
                    user_row,
                )
                .optional()?;
            let Some(mut user) = found else {
                return Err(StoreError::UnknownUser(name.to_string()));
            };
            if user.revoked_at.is_some() {
                return Err(StoreError::AlreadyRevoked(name.to_string()));
            }
            let now = crate::now();
            tx.execute(
                "UPDATE users SET revoked_at = ?1 WHERE id = ?2",
                params![now, user.id],
            )?;
            tx.execute("DELETE FROM sessions WHERE user_id = ?1", [user.id])?;
            user.revoked_at = Some(now);
            audit::append(
                tx,
                &self.keys,
                actor,
                actions::USER_REVOKE,
                name,
                &json!({ "user_id": user.id, "role": user.role.kind() }),
            )?;
            Ok(user)
        })
    }

    /// Replaces an active user's token (the old one stops working, their sessions end) and
    /// returns the new one, with a new expiry (`None`: never).
    pub fn rotate_token(&self, actor: &str, name: &str) -> Result<(User, Token), StoreError> {
        self.rotate_token_expiring(actor, name, None)
    }

    /// [`Store::rotate_token`] with an expiry for the new token.
    pub fn rotate_token_expiring(
        &self,
        actor: &str,
        name: &str,
        expires: Option<chrono::DateTime<chrono::Utc>>,
    ) -> Result<(User, Token), StoreError> {
        let (token, token_id, hash) = new_token(&self.keys.token);
        let expires_at = expiry_text(expires);
        let user = self.write(|tx| {
            let found = tx
                .query_row(
                    &format!("SELECT {USER_COLUMNS} FROM users WHERE name = ?1"),
                    [name],
                    user_row,
                )
                .optional()?;
            let Some(mut user) = found else {
                return Err(StoreError::UnknownUser(name.to_string()));
            };
            if user.revoked_at.is_some() {
                return Err(StoreError::AlreadyRevoked(name.to_string()));
            }
            tx.execute(
                "UPDATE users SET token_id = ?1, token_hash = ?2, expires_at = ?3 WHERE id = ?4",
                params![token_id, hash, expires_at, user.id],
            )?;
            tx.execute("DELETE FROM sessions WHERE user_id = ?1", [user.id])?;
            user.expires_at = expires_at.clone();
            audit::append(
                tx,
                &self.keys,
                actor,
                actions::USER_ROTATE,
                name,
                &json!({ "user_id": user.id, "expires_at": expires_at }),
            )?;
            Ok(user)
        })?;
        Ok((user, token))
    }

    /// The active user owning `token`, or `None` (malformed, unknown, wrong, expired or
    /// revoked token). See [`Store::check_token`] for the reason.
    pub fn authenticate(&self, token: &str) -> Result<Option<User>, StoreError> {
        Ok(match self.check_token(token)? {
            AuthOutcome::Ok(u) => Some(u),
            AuthOutcome::Refused { .. } => None,
        })
    }

    /// Checks a token: one primary-key lookup and one HMAC, the same work whether the id
    /// exists or not (no timing difference tells an attacker which ids are real).
    pub fn check_token(&self, token: &str) -> Result<AuthOutcome, StoreError> {
        let Some((token_id, secret)) = split_token(token) else {
            return Ok(AuthOutcome::Refused {
                reason: AuthFailure::Malformed,
                token_id: None,
            });
        };
        let refused = |reason| AuthOutcome::Refused {
            reason,
            token_id: Some(token_id.to_string()),
        };
        let found = {
            let conn = self.conn();
            let mut stmt = conn.prepare_cached(&format!(
                "SELECT {USER_COLUMNS}, token_hash FROM users WHERE token_id = ?1"
            ))?;
            // The hash travels only inside this module.
            stmt.query_row([token_id], |r| Ok((user_row(r)?, r.get::<_, String>(7)?)))
                .optional()?
        };
        let Some((user, hash)) = found else {
            // Same work as for a known id, against a hash no secret matches.
            let _ = verify(&self.keys.token, token_id, secret, UNKNOWN_ID_HASH);
            return Ok(refused(AuthFailure::UnknownId));
        };
        let matches = verify(&self.keys.token, token_id, secret, &hash);
        Ok(if !hash.starts_with(HASH_SCHEME) {
            refused(AuthFailure::LegacyHash)
        } else if !matches {
            refused(AuthFailure::WrongSecret)
        } else if user.revoked_at.is_some() {
            refused(AuthFailure::Revoked)
        } else if user.is_expired(&crate::now()) {
            refused(AuthFailure::Expired)
        } else {
            AuthOutcome::Ok(user)
        })
    }
}

/// A well-formed stored hash that no token matches (HMAC outputs are never all zeros in
/// practice), compared against when the id is unknown.
const UNKNOWN_ID_HASH: &str =
    "hmac-sha256:0000000000000000000000000000000000000000000000000000000000000000";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn token_shape_is_checked_before_any_lookup() {
        assert!(split_token("").is_none());
        assert!(split_token("abc").is_none());
        assert!(split_token(&format!("{}.{}", "0".repeat(16), "g".repeat(64))).is_none());
        assert!(split_token(&format!("{}.{}", "0".repeat(16), "a".repeat(64))).is_some());
    }

    #[test]
    fn token_debug_is_redacted() {
        let t = Token("0123456789abcdef.secret".into());
        assert_eq!(format!("{t:?}"), "Token(<redacted>)");
        assert!(!format!("{:?}", (t.clone(), 1)).contains("secret"));
    }

    #[test]
    fn role_parse_rules() {
        assert!(Role::parse("viewer", &[]).is_err());
        assert!(Role::parse("director", &[1]).is_err());
        assert!(Role::parse("root", &[]).is_err());
        assert_eq!(
            Role::parse("viewer", &[3, 1, 3]).ok(),
            Some(Role::Viewer { stores: vec![1, 3] })
        );
    }

    #[test]
    fn expiry_reads_days_and_dates_and_refuses_the_past() {
        let now = chrono::NaiveDate::from_ymd_opt(2026, 12, 6)
            .and_then(|d| d.and_hms_opt(12, 0, 0))
            .map(|t| t.and_utc())
            .expect("a time");
        assert_eq!(
            expiry_from("90d", now).ok(),
            Some(now + chrono::Duration::days(90))
        );
        assert_eq!(
            expiry_from("2027-03-31", now)
                .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true))
                .ok(),
            Some("2027-03-31T23:59:59.999Z".to_string())
        );
        assert!(expiry_from("2026-12-05", now).is_err());
        // Issue 30, item 9: an overflowing day count panicked; the year 9999 read as the past.
        assert!(expiry_from("99999999d", now).is_err_and(|e| e.contains("latest expiry")));
        assert!(expiry_from(&format!("{}d", i64::MAX), now).is_err());
        assert_eq!(expiry_from("9999-12-31", now).ok(), Some(max_expiry()));
        assert!(expiry_from("10000-01-01", now).is_err());
        assert!(expiry_from("-1d", now).is_err());
        assert!(expiry_from("soon", now).is_err());
    }
}
