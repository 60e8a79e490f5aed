//! Users, roles and bearer tokens.
//!
//! Why this module exists: the app shows store-level numbers to store managers (their stores
//! only), chain-wide numbers to directors, and administration to admins; each request must be
//! tied to a person who can be cut off. A token is shown once when the user is created and only
//! its Argon2id hash is stored, so a copy of the database does not grant access. Argon2 is
//! deliberately slow (tens of milliseconds), so tokens carry a public id (`<id>.<secret>`) to
//! find the row without scanning every hash, and successful verifications are remembered in
//! memory (keyed by the token's SHA-256, re-checked against the row on every request, cleared
//! on revocation) so that repeated requests cost a primary-key lookup, not a hash.

use crate::audit::{self, actions};
use crate::error::StoreError;
use crate::Store;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;
use rand::rngs::OsRng;
use rand::RngCore;
use rusqlite::{params, OptionalExtension, Row};
use serde::Serialize;
use serde_json::json;
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::sync::Mutex;

/// Bytes of randomness in a token's public id.
const TOKEN_ID_BYTES: usize = 8;
/// Bytes of randomness in a token's secret.
const TOKEN_SECRET_BYTES: usize = 32;
/// Remembered verifications before the cache is emptied (bounds memory under token churn).
const CACHE_CAPACITY: usize = 10_000;

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
}

impl User {
    /// Not revoked.
    pub fn is_active(&self) -> bool {
        self.revoked_at.is_none()
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

/// Successful verifications: SHA-256 of the token -> (user id, the PHC hash it matched).
#[derive(Default)]
pub(crate) struct AuthCache {
    map: Mutex<HashMap<[u8; 32], (i64, String)>>,
}

impl AuthCache {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<[u8; 32], (i64, String)>> {
        self.map.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn hit(&self, key: &[u8; 32], user_id: i64, hash: &str) -> bool {
        self.lock()
            .get(key)
            .is_some_and(|(id, h)| *id == user_id && h == hash)
    }

    fn remember(&self, key: [u8; 32], user_id: i64, hash: String) {
        let mut map = self.lock();
        if map.len() >= CACHE_CAPACITY {
            map.clear();
        }
        map.insert(key, (user_id, hash));
    }

    fn forget(&self, key: &[u8; 32]) {
        self.lock().remove(key);
    }

    pub(crate) fn clear(&self) {
        self.lock().clear();
    }

    pub(crate) fn len(&self) -> usize {
        self.lock().len()
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn random_hex(n: usize) -> String {
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

/// A fresh token: (token, its id, the Argon2id PHC hash of its secret).
fn new_token() -> Result<(Token, String, String), StoreError> {
    let id = random_hex(TOKEN_ID_BYTES);
    let secret = random_hex(TOKEN_SECRET_BYTES);
    let salt = SaltString::generate(&mut OsRng);
    let hash = Argon2::default()
        .hash_password(secret.as_bytes(), &salt)
        .map_err(|e| StoreError::Hash(e.to_string()))?
        .to_string();
    Ok((Token(format!("{id}.{secret}")), id, hash))
}

fn verify(secret: &str, phc: &str) -> bool {
    PasswordHash::new(phc)
        .map(|parsed| {
            Argon2::default()
                .verify_password(secret.as_bytes(), &parsed)
                .is_ok()
        })
        .unwrap_or(false)
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

const USER_COLUMNS: &str = "id, name, role, stores, created_at, revoked_at";

fn user_row(r: &Row<'_>) -> rusqlite::Result<User> {
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
        check_name(name)?;
        // Re-validate (a `Role::Viewer` built by hand may be unsorted or empty).
        let role = Role::parse(role.kind(), role.stores().unwrap_or_default())?;
        // Hash before taking the database lock: Argon2 is slow on purpose.
        let (token, token_id, hash) = new_token()?;
        let stores = serde_json::to_string(role.stores().unwrap_or_default())?;
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
                "INSERT INTO users (name, role, stores, token_id, token_hash, created_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                params![name, role.kind(), stores, token_id, hash, now],
            )?;
            let user = User {
                id: tx.last_insert_rowid(),
                name: name.to_string(),
                role: role.clone(),
                created_at: now,
                revoked_at: None,
            };
            audit::append(
                tx,
                actor,
                actions::USER_ADD,
                name,
                &json!({ "user_id": user.id, "role": role.kind(), "stores": role.stores() }),
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

    /// Revokes a user: their token stops working at once (also in other processes: every
    /// authentication re-reads the row). The row stays, for the audit trail.
    pub fn revoke_user(&self, actor: &str, name: &str) -> Result<User, StoreError> {
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
            let now = crate::now();
            tx.execute(
                "UPDATE users SET revoked_at = ?1 WHERE id = ?2",
                params![now, user.id],
            )?;
            user.revoked_at = Some(now);
            audit::append(
                tx,
                actor,
                actions::USER_REVOKE,
                name,
                &json!({ "user_id": user.id, "role": user.role.kind() }),
            )?;
            Ok(user)
        })?;
        self.auth_cache.clear();
        Ok(user)
    }

    /// Replaces an active user's token (the old one stops working) and returns the new one.
    pub fn rotate_token(&self, actor: &str, name: &str) -> Result<(User, Token), StoreError> {
        let (token, token_id, hash) = new_token()?;
        let user = self.write(|tx| {
            let found = tx
                .query_row(
                    &format!("SELECT {USER_COLUMNS} FROM users WHERE name = ?1"),
                    [name],
                    user_row,
                )
                .optional()?;
            let Some(user) = found else {
                return Err(StoreError::UnknownUser(name.to_string()));
            };
            if user.revoked_at.is_some() {
                return Err(StoreError::AlreadyRevoked(name.to_string()));
            }
            tx.execute(
                "UPDATE users SET token_id = ?1, token_hash = ?2 WHERE id = ?3",
                params![token_id, hash, user.id],
            )?;
            audit::append(
                tx,
                actor,
                actions::USER_ROTATE,
                name,
                &json!({ "user_id": user.id }),
            )?;
            Ok(user)
        })?;
        self.auth_cache.clear();
        Ok((user, token))
    }

    /// The active user owning `token`, or `None` (malformed, unknown, wrong or revoked token).
    /// The first success for a token costs one Argon2 verification (tens of milliseconds,
    /// done without holding the database lock); later ones a primary-key lookup.
    pub fn authenticate(&self, token: &str) -> Result<Option<User>, StoreError> {
        let Some((token_id, secret)) = split_token(token) else {
            return Ok(None);
        };
        let found = {
            let conn = self.conn();
            conn.query_row(
                &format!("SELECT {USER_COLUMNS}, token_hash FROM users WHERE token_id = ?1"),
                [token_id],
                // The hash travels only inside this module.
                |r| Ok((user_row(r)?, r.get::<_, String>(6)?)),
            )
            .optional()?
        };
        let key: [u8; 32] = Sha256::digest(token.trim().as_bytes()).into();
        let Some((user, hash)) = found else {
            self.auth_cache.forget(&key);
            return Ok(None);
        };
        if user.revoked_at.is_some() {
            self.auth_cache.forget(&key);
            return Ok(None);
        }
        if self.auth_cache.hit(&key, user.id, &hash) {
            return Ok(Some(user));
        }
        if verify(secret, &hash) {
            self.auth_cache.remember(key, user.id, hash);
            Ok(Some(user))
        } else {
            Ok(None)
        }
    }

    /// Verifications remembered in memory (for tests and diagnostics).
    pub fn auth_cache_len(&self) -> usize {
        self.auth_cache.len()
    }
}

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
}
