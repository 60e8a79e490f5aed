//! Secret keys the server holds and a copy of its database does not.
//!
//! Why this module exists: three controls rest on a secret that is not in the data they protect.
//! API tokens are stored as HMAC-SHA-256 of the token under a server key (a stolen database
//! grants no access and cannot be brute-forced offline without the key); every audit row is
//! chained by HMAC under the same key (whoever edits the table cannot recompute the chain);
//! model artifacts carry a detached HMAC under the registry's key (a forged file cannot be
//! registered or loaded). One master key per deployment, and one sub-key per purpose derived
//! from it, so a value computed for one use can never be replayed for another.
//!
//! Where the key comes from: `$STORECAST_KEY` (at least 32 characters; for deployments that
//! inject secrets through the environment), else a key file next to the thing it protects
//! (`<db>.key`, `<registry>/.key`): 32 random bytes in hex, created on first use with mode 0600
//! and refused when readable by group or others. Losing the key file means re-issuing tokens
//! and re-signing models; the audit chain stays verifiable only with the key it was built with.

use hmac::{Hmac, Mac};
use rand::rngs::OsRng;
use rand::RngCore;
use sha2::Sha256;
use std::io::Write;
use std::path::{Path, PathBuf};

/// Environment variable holding the master key (overrides every key file).
pub const KEY_ENV: &str = "STORECAST_KEY";

/// Why a key could not be had.
#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    /// The key file could not be read or created.
    #[error("key file {path}: {source}")]
    Io {
        /// The file.
        path: String,
        /// The cause.
        source: std::io::Error,
    },
    /// The key file or variable does not hold a usable key.
    #[error("{0}")]
    Invalid(String),
}

/// What a derived key is for (a value keyed for one purpose is useless for another).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Purpose {
    /// Hashing API tokens.
    Token,
    /// Chaining audit rows.
    Audit,
    /// The keyed head of the audit chain.
    AuditHead,
    /// Signing model artifacts.
    Artifact,
    /// Server-side session ids.
    Session,
    /// Signing explanation caches.
    Explanations,
}

impl Purpose {
    fn label(self) -> &'static [u8] {
        match self {
            Self::Token => b"storecast/token/v1",
            Self::Audit => b"storecast/audit-row/v1",
            Self::AuditHead => b"storecast/audit-head/v1",
            Self::Artifact => b"storecast/artifact/v1",
            Self::Session => b"storecast/session/v1",
            Self::Explanations => b"storecast/explanations/v1",
        }
    }
}

/// A 256-bit secret key. `Debug` never shows it.
#[derive(Clone)]
pub struct Key([u8; 32]);

impl std::fmt::Debug for Key {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Key(<redacted>)")
    }
}

pub(crate) fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn unhex(text: &str) -> Option<Vec<u8>> {
    let t = text.trim();
    if !t.len().is_multiple_of(2) {
        return None;
    }
    (0..t.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(t.get(i..i + 2)?, 16).ok())
        .collect()
}

impl Key {
    /// A fresh random key (in-memory databases, tests).
    pub fn random() -> Self {
        let mut k = [0u8; 32];
        OsRng.fill_bytes(&mut k);
        Self(k)
    }

    /// The master key from `$STORECAST_KEY` when set, else from the key file at `path`
    /// (created 0600 with a fresh random key when missing).
    pub fn resolve(path: &Path) -> Result<Self, KeyError> {
        match std::env::var(KEY_ENV) {
            Ok(text) => Self::from_text(&text),
            Err(_) => Self::load_or_create(path),
        }
    }

    /// Key material from text: 64 hex digits are taken as the key itself; any other text of
    /// at least 32 characters is hashed into one.
    pub fn from_text(text: &str) -> Result<Self, KeyError> {
        let text = text.trim();
        if let Some(bytes) = unhex(text).filter(|b| b.len() == 32) {
            let mut k = [0u8; 32];
            k.copy_from_slice(&bytes);
            return Ok(Self(k));
        }
        if text.chars().count() < 32 {
            return Err(KeyError::Invalid(format!(
                "${KEY_ENV} must hold at least 32 characters (e.g. 64 hex digits from `openssl rand -hex 32`)"
            )));
        }
        use sha2::Digest;
        Ok(Self(Sha256::digest(text.as_bytes()).into()))
    }

    /// Reads the key file at `path`, or creates it (mode 0600, 32 random bytes in hex).
    pub fn load_or_create(path: &Path) -> Result<Self, KeyError> {
        let io = |source| KeyError::Io {
            path: path.display().to_string(),
            source,
        };
        match std::fs::read_to_string(path) {
            Ok(text) => {
                check_private(path)?;
                let bytes = unhex(&text).filter(|b| b.len() == 32).ok_or_else(|| {
                    KeyError::Invalid(format!(
                        "key file {} does not hold 64 hex digits",
                        path.display()
                    ))
                })?;
                let mut k = [0u8; 32];
                k.copy_from_slice(&bytes);
                Ok(Self(k))
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                let key = Self::random();
                match create_private(path) {
                    Ok(mut f) => {
                        f.write_all(format!("{}\n", hex(&key.0)).as_bytes())
                            .and_then(|()| f.sync_all())
                            .map_err(io)?;
                        Ok(key)
                    }
                    // Another process created it first: use theirs.
                    Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                        std::thread::sleep(std::time::Duration::from_millis(50));
                        Self::load_or_create(path)
                    }
                    Err(e) => Err(io(e)),
                }
            }
            Err(e) => Err(io(e)),
        }
    }

    /// The sub-key for `purpose`.
    pub fn derive(&self, purpose: Purpose) -> Self {
        Self(self.mac(&[purpose.label()]))
    }

    fn hmac(&self) -> Hmac<Sha256> {
        // HMAC accepts keys of any length: this cannot fail for 32 bytes.
        <Hmac<Sha256> as Mac>::new_from_slice(&self.0).expect("HMAC takes keys of any length")
    }

    /// HMAC-SHA-256 over the parts, each prefixed by its length (so part boundaries count).
    pub fn mac(&self, parts: &[&[u8]]) -> [u8; 32] {
        let mut m = self.hmac();
        for p in parts {
            m.update(&(p.len() as u64).to_be_bytes());
            m.update(p);
        }
        m.finalize().into_bytes().into()
    }

    /// [`Key::mac`] as lowercase hex.
    pub fn mac_hex(&self, parts: &[&[u8]]) -> String {
        hex(&self.mac(parts))
    }

    /// Whether `tag_hex` is the MAC of `parts`, compared in constant time.
    pub fn verify_hex(&self, parts: &[&[u8]], tag_hex: &str) -> bool {
        use subtle::ConstantTimeEq;
        let expected = self.mac_hex(parts);
        expected.len() == tag_hex.len() && bool::from(expected.as_bytes().ct_eq(tag_hex.as_bytes()))
    }
}

/// The sub-keys the database uses, derived from one master key.
pub(crate) struct Keys {
    /// Token hashes.
    pub token: Key,
    /// Audit row chain.
    pub audit: Key,
    /// Audit chain head.
    pub head: Key,
    /// Session ids.
    pub session: Key,
}

impl Keys {
    pub(crate) fn from_master(master: &Key) -> Self {
        Self {
            token: master.derive(Purpose::Token),
            audit: master.derive(Purpose::Audit),
            head: master.derive(Purpose::AuditHead),
            session: master.derive(Purpose::Session),
        }
    }
}

/// Creates `path` exclusively, readable and writable by its owner only.
pub(crate) fn create_private(path: &Path) -> std::io::Result<std::fs::File> {
    let mut o = std::fs::OpenOptions::new();
    o.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        o.mode(0o600);
    }
    o.open(path)
}

/// Refuses a key file that group or others may read.
fn check_private(path: &Path) -> Result<(), KeyError> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::{MetadataExt, PermissionsExt};
        let meta = std::fs::metadata(path).map_err(|source| KeyError::Io {
            path: path.display().to_string(),
            source,
        })?;
        // The process's own uid, as the kernel reports it (the owner of /proc/self).
        let me = std::fs::metadata("/proc/self").map(|m| m.uid()).ok();
        if me.is_some_and(|uid| uid != meta.uid()) {
            return Err(KeyError::Invalid(format!(
                "key file {} belongs to uid {}, not to this process's user: refused (whoever owns it can replace it)",
                path.display(),
                meta.uid()
            )));
        }
        let mode = meta.permissions().mode();
        if mode & 0o077 != 0 {
            return Err(KeyError::Invalid(format!(
                "key file {} is readable by others (mode {:o}); run `chmod 600 {}`",
                path.display(),
                mode & 0o777,
                path.display()
            )));
        }
    }
    Ok(())
}

/// The key file beside a database: `<db>.key`.
pub fn db_key_path(db: &Path) -> PathBuf {
    let mut name = db.as_os_str().to_os_string();
    name.push(".key");
    PathBuf::from(name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn purposes_give_different_keys_and_macs_check() {
        let k = Key::random();
        let a = k.derive(Purpose::Token).mac_hex(&[b"x"]);
        let b = k.derive(Purpose::Audit).mac_hex(&[b"x"]);
        assert_ne!(a, b);
        assert!(k.derive(Purpose::Token).verify_hex(&[b"x"], &a));
        assert!(!k.derive(Purpose::Token).verify_hex(&[b"y"], &a));
        // Part boundaries count.
        assert_ne!(k.mac_hex(&[b"ab", b"c"]), k.mac_hex(&[b"a", b"bc"]));
        assert!(format!("{k:?}").contains("redacted"));
    }

    #[test]
    fn key_file_is_created_private_and_reread() {
        let dir = tempfile::tempdir().expect("tempdir");
        let p = dir.path().join("k");
        let a = Key::load_or_create(&p).expect("create");
        let b = Key::load_or_create(&p).expect("read");
        assert_eq!(a.0, b.0);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&p).expect("meta").permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
            std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o644)).expect("chmod");
            assert!(matches!(Key::load_or_create(&p), Err(KeyError::Invalid(_))));
        }
        assert!(Key::from_text("short").is_err());
        assert!(Key::from_text(&"ab".repeat(32)).is_ok());
    }
}
