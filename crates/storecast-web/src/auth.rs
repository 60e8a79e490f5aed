//! Who is asking, and may they: token authentication (a `Bearer` header for the API, an
//! HttpOnly cookie set by the sign-in page for the browser), roles with store scoping, and a
//! double-submit CSRF token on every state-changing request authenticated by cookie.
//!
//! Failed authentication is throttled per client address ([`Throttle`]): after a few failures
//! in a window the client gets 429 with `Retry-After` for every credential it presents, before
//! any database work, and every failure is logged (client, path, reason, the token's public
//! id; never the secret).

use crate::error::AppError;
use crate::state::AppState;
use axum::extract::{Request, State};
use axum::http::{header, Method};
use axum::middleware::Next;
use axum::response::{IntoResponse, Redirect, Response};
use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::Mutex;
use std::time::{Duration, Instant};
use storecast_store::{AuthOutcome, Role, User};

/// Per-client limits on failed authentication.
#[derive(Debug, Clone, Copy)]
pub struct ThrottleConfig {
    /// Failures allowed in `window` before the client is locked out.
    pub max_failures: u32,
    /// The counting window.
    pub window: Duration,
    /// How long a locked-out client is refused.
    pub lockout: Duration,
}

impl Default for ThrottleConfig {
    fn default() -> Self {
        Self {
            max_failures: 10,
            window: Duration::from_secs(60),
            lockout: Duration::from_secs(60),
        }
    }
}

#[derive(Debug, Clone, Copy)]
struct Failures {
    count: u32,
    since: Instant,
    locked_until: Option<Instant>,
}

/// Clients tracked before expired entries are dropped (bounds memory under address churn).
const THROTTLE_CAPACITY: usize = 50_000;

/// Failed authentication per client address (`None`: a request without a peer address, as
/// in tests through `oneshot`).
#[derive(Debug, Default)]
pub struct Throttle {
    /// Limits.
    pub config: ThrottleConfig,
    map: Mutex<HashMap<Option<IpAddr>, Failures>>,
}

impl Throttle {
    /// A throttle with these limits.
    pub fn new(config: ThrottleConfig) -> Self {
        Self {
            config,
            map: Mutex::default(),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<Option<IpAddr>, Failures>> {
        self.map.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// `Err(retry_after)` while `client` is locked out.
    pub fn check(&self, client: Option<IpAddr>) -> Result<(), Duration> {
        let now = Instant::now();
        match self.lock().get(&client).and_then(|f| f.locked_until) {
            Some(until) if until > now => Err(until - now),
            _ => Ok(()),
        }
    }

    /// Records a failure; returns the lockout when this one crossed the limit.
    pub fn fail(&self, client: Option<IpAddr>) -> Option<Duration> {
        let now = Instant::now();
        let cfg = self.config;
        let mut map = self.lock();
        if map.len() >= THROTTLE_CAPACITY {
            map.retain(|_, f| {
                f.locked_until.is_some_and(|u| u > now) || now - f.since < cfg.window
            });
            if map.len() >= THROTTLE_CAPACITY {
                map.clear();
            }
        }
        let f = map.entry(client).or_insert(Failures {
            count: 0,
            since: now,
            locked_until: None,
        });
        if now - f.since >= cfg.window && f.locked_until.is_none_or(|u| u <= now) {
            *f = Failures {
                count: 0,
                since: now,
                locked_until: None,
            };
        }
        f.count += 1;
        (f.count >= cfg.max_failures).then(|| {
            f.locked_until = Some(now + cfg.lockout);
            cfg.lockout
        })
    }
}

/// The client's address, put in the request's extensions by [`middleware`].
#[derive(Debug, Clone, Copy)]
pub struct ClientAddr(pub Option<IpAddr>);

/// Why a presented credential was not accepted.
#[derive(Debug)]
pub enum Rejection {
    /// Not valid (logged).
    Invalid,
    /// The client is locked out for this long.
    Throttled(Duration),
}

impl Rejection {
    /// The 429 answer with `Retry-After`, as JSON.
    pub fn throttled_response(after: Duration) -> Response {
        let secs = after.as_secs().max(1);
        let mut resp = AppError::TooManyRequests(secs).into_response();
        if let Ok(v) = axum::http::HeaderValue::from_str(&secs.to_string()) {
            resp.headers_mut().insert(header::RETRY_AFTER, v);
        }
        resp
    }
}

/// Checks a presented token under the client's throttle: a locked-out client is refused
/// before any database work; every failure is logged without the secret and counted.
pub async fn check_token(
    state: &AppState,
    client: Option<IpAddr>,
    path: &str,
    token: String,
) -> Result<Caller, Rejection> {
    state.throttle.check(client).map_err(Rejection::Throttled)?;
    let Some(store) = state.store.clone() else {
        return Err(Rejection::Invalid);
    };
    let outcome = tokio::task::spawn_blocking(move || store.check_token(&token)).await;
    let (reason, token_id) = match outcome {
        Ok(Ok(AuthOutcome::Ok(user))) => return Ok(Caller::from(user)),
        Ok(Ok(AuthOutcome::Refused { reason, token_id })) => (reason.label(), token_id),
        Ok(Err(e)) => {
            tracing::error!(error = %e, "authentication could not read the database");
            return Err(Rejection::Invalid);
        }
        Err(e) => {
            tracing::error!(error = %e, "authentication task failed");
            return Err(Rejection::Invalid);
        }
    };
    let locked = state.throttle.fail(client);
    let client_text = client.map_or_else(|| "unknown".to_string(), |c| c.to_string());
    tracing::warn!(
        client = %client_text,
        path,
        reason,
        token_id = token_id.as_deref().unwrap_or("-"),
        locked_out_s = locked.map_or(0, |d| d.as_secs()),
        "authentication failed"
    );
    Err(Rejection::Invalid)
}

/// How long a successful authentication is reused without asking the database.
pub const CACHE_TTL: std::time::Duration = std::time::Duration::from_secs(5);

/// Cookie holding the session token.
pub const TOKEN_COOKIE: &str = "storecast_token";
/// Cookie holding the CSRF token (readable by the page's script, echoed in a header).
pub const CSRF_COOKIE: &str = "storecast_csrf";
/// Header carrying the CSRF token.
pub const CSRF_HEADER: &str = "x-csrf-token";

/// The authenticated caller.
#[derive(Debug, Clone)]
pub struct Caller {
    /// Display name.
    pub name: String,
    /// Role.
    pub role: Role,
}

impl Caller {
    /// May this caller see store `id`?
    pub fn require_store(&self, id: u16) -> Result<(), AppError> {
        if self.role.can_view_store(id) {
            Ok(())
        } else {
            Err(AppError::Forbidden(format!(
                "your role does not give access to store {id}"
            )))
        }
    }
    /// May this caller see chain-wide views?
    pub fn require_chain(&self) -> Result<(), AppError> {
        if self.role.can_view_chain() {
            Ok(())
        } else {
            Err(AppError::Forbidden(
                "chain-wide views are for directors and admins".into(),
            ))
        }
    }
    /// Is this caller an admin?
    pub fn require_admin(&self) -> Result<(), AppError> {
        if self.role.is_admin() {
            Ok(())
        } else {
            Err(AppError::Forbidden("this needs the admin role".into()))
        }
    }
    /// Stores this caller may see, or `None` for all.
    pub fn store_scope(&self) -> Option<&[u16]> {
        self.role.stores()
    }
}

impl From<User> for Caller {
    fn from(u: User) -> Self {
        Self {
            name: u.name,
            role: u.role,
        }
    }
}

/// Reads a cookie from the request headers.
pub fn cookie<'a>(req: &'a axum::http::HeaderMap, name: &str) -> Option<&'a str> {
    req.get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v)
}

/// Whether the `Host` header names this machine's loopback (`127.0.0.1`, `localhost`,
/// `[::1]`, with or without a port).
pub fn loopback_host(headers: &axum::http::HeaderMap) -> bool {
    let Some(host) = headers.get(header::HOST).and_then(|v| v.to_str().ok()) else {
        return false;
    };
    let name = match host.strip_prefix('[') {
        Some(rest) => rest.split(']').next().unwrap_or(""),
        None => host.rsplit_once(':').map_or(host, |(h, _)| h),
    };
    matches!(
        name.to_ascii_lowercase().as_str(),
        "127.0.0.1" | "localhost" | "::1"
    )
}

/// Authenticates every request except the public ones (sign-in, assets, health).
pub async fn middleware(State(state): State<AppState>, mut req: Request, next: Next) -> Response {
    let client = req
        .extensions()
        .get::<axum::extract::ConnectInfo<SocketAddr>>()
        .map(|c| c.0.ip());
    req.extensions_mut().insert(ClientAddr(client));
    let path = req.uri().path().to_string();
    let public = path == "/login"
        || path.starts_with("/assets/")
        || path == "/healthz"
        || path == "/favicon.ico"
        || path == "/api/v1/openapi.json";
    if public {
        return next.run(req).await;
    }
    // Machine clients (the API, a metrics scraper) get 401; browsers go to the sign-in page.
    let is_api = path.starts_with("/api/") || path == "/metrics";
    if !state.auth_required {
        // Without authentication the app trusts the machine it runs on: a page of another
        // site that resolves its name to 127.0.0.1 (DNS rebinding) must not reach it.
        if !loopback_host(req.headers()) {
            return AppError::Forbidden(
                "without authentication only http://127.0.0.1 or http://localhost is served".into(),
            )
            .into_response();
        }
        req.extensions_mut().insert(Caller {
            name: "local".into(),
            role: Role::Admin,
        });
        return next.run(req).await;
    }
    let headers = req.headers();
    let bearer = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::trim);
    let (token, via_cookie) = match bearer {
        Some(t) => (Some(t.to_string()), false),
        None => (cookie(headers, TOKEN_COOKIE).map(str::to_string), true),
    };
    let key: Option<[u8; 32]> = token.as_ref().map(|t| {
        use sha2::Digest;
        sha2::Sha256::digest(t.as_bytes()).into()
    });
    let cached = key.and_then(|k| {
        let cache = state.auth_cache.read().ok()?;
        let (caller, at) = cache.get(&k)?;
        (at.elapsed() < CACHE_TTL).then(|| caller.clone())
    });
    let user: Option<Caller> = match (cached, token) {
        (Some(c), _) => Some(c),
        (None, Some(t)) => match check_token(&state, client, &path, t).await {
            Ok(c) => {
                if let (Ok(mut cache), Some(k)) = (state.auth_cache.write(), key) {
                    if cache.len() > 10_000 {
                        cache.clear();
                    }
                    cache.insert(k, (c.clone(), std::time::Instant::now()));
                }
                Some(c)
            }
            Err(Rejection::Throttled(after)) => return Rejection::throttled_response(after),
            Err(Rejection::Invalid) => None,
        },
        (None, None) => None,
    };
    let Some(user) = user else {
        return if is_api {
            AppError::Unauthorized.into_response()
        } else {
            Redirect::to("/login").into_response()
        };
    };
    // CSRF: a state-changing request carried by the cookie must echo the CSRF cookie.
    if via_cookie && req.method() != Method::GET && req.method() != Method::HEAD {
        let cookie_token = cookie(req.headers(), CSRF_COOKIE);
        let header_token = req.headers().get(CSRF_HEADER).and_then(|v| v.to_str().ok());
        if cookie_token.is_none() || cookie_token != header_token {
            return AppError::Forbidden("missing or wrong CSRF token".into()).into_response();
        }
    }
    req.extensions_mut().insert(user);
    let mut resp = next.run(req).await;
    // Authenticated answers hold someone's figures: never stored by a browser or a proxy.
    resp.headers_mut().insert(
        header::CACHE_CONTROL,
        axum::http::HeaderValue::from_static("no-store"),
    );
    resp
}

/// A fresh random token for CSRF (16 bytes from the OS generator, hex).
pub fn random_hex() -> String {
    use rand::RngCore;
    let mut bytes = [0u8; 16];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
