//! Who is asking, and may they: token authentication (a `Bearer` header for the API), server-
//! side sessions for the browser (the sign-in page takes the token once and sets an HttpOnly
//! cookie holding a random session id, never the token; sessions expire when idle and at an
//! absolute limit, and signing out ends them), roles with store scoping, and a CSRF token bound
//! to the session on every state-changing request authenticated by cookie. Behind an HTTPS
//! proxy ([`WebSecurity::https`]) cookies are `Secure` with the `__Host-` prefix and every
//! answer carries HSTS.
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
use storecast_store::{AuthOutcome, Role, SessionPolicy, User};

/// How the app's cookies and security headers are set.
#[derive(Debug, Clone, Copy, Default)]
pub struct WebSecurity {
    /// Session lifetimes.
    pub sessions: SessionPolicy,
    /// Browsers reach the app over HTTPS (TLS terminated by a reverse proxy): cookies get
    /// `Secure` and the `__Host-` prefix, answers carry `Strict-Transport-Security`.
    pub https: bool,
}

/// `Strict-Transport-Security` value in HTTPS mode (one year).
pub const HSTS: &str = "max-age=31536000";

impl WebSecurity {
    /// Name of the session cookie.
    pub fn session_cookie(&self) -> &'static str {
        if self.https {
            "__Host-storecast_session"
        } else {
            "storecast_session"
        }
    }

    /// Name of the CSRF cookie (read by the page's script, echoed in [`CSRF_HEADER`]).
    pub fn csrf_cookie(&self) -> &'static str {
        if self.https {
            "__Host-storecast_csrf"
        } else {
            "storecast_csrf"
        }
    }

    /// A `Set-Cookie` value; `max_age` 0 deletes the cookie.
    pub fn set_cookie(&self, name: &str, value: &str, http_only: bool, max_age: u64) -> String {
        format!(
            "{name}={value}; Path=/; SameSite=Strict; Max-Age={max_age}{}{}",
            if http_only { "; HttpOnly" } else { "" },
            if self.https { "; Secure" } else { "" }
        )
    }
}

/// Per-client limits on failed authentication.
#[derive(Debug, Clone, Copy)]
pub struct ThrottleConfig {
    /// Failures allowed in `window` before the client is locked out.
    pub max_failures: u32,
    /// The counting window.
    pub window: Duration,
    /// How long a locked-out client is refused.
    pub lockout: Duration,
    /// Successful sign-ins one user may make in `window` (each starts a session and an audit
    /// row); more are answered 429 until the oldest leaves the window.
    pub max_sign_ins: usize,
}

impl Default for ThrottleConfig {
    fn default() -> Self {
        Self {
            max_failures: 10,
            window: Duration::from_secs(60),
            lockout: Duration::from_secs(60),
            max_sign_ins: 20,
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
    sign_ins: Mutex<HashMap<i64, std::collections::VecDeque<Instant>>>,
}

impl Throttle {
    /// A throttle with these limits.
    pub fn new(config: ThrottleConfig) -> Self {
        Self {
            config,
            map: Mutex::default(),
            sign_ins: Mutex::default(),
        }
    }

    /// Counts a sign-in of user `user_id`; `Err(retry after)` when the user already signed in
    /// `max_sign_ins` times within the window (a script looping on the sign-in form).
    pub fn sign_in(&self, user_id: i64) -> Result<(), Duration> {
        let now = Instant::now();
        let window = self.config.window;
        let mut map = self.sign_ins.lock().unwrap_or_else(|p| p.into_inner());
        if map.len() > THROTTLE_CAPACITY {
            map.retain(|_, times| {
                times
                    .back()
                    .is_some_and(|t| now.duration_since(*t) < window)
            });
        }
        let times = map.entry(user_id).or_default();
        while times
            .front()
            .is_some_and(|t| now.duration_since(*t) >= window)
        {
            times.pop_front();
        }
        if times.len() >= self.config.max_sign_ins {
            let oldest = times.front().copied().unwrap_or(now);
            return Err(window.saturating_sub(now.duration_since(oldest)));
        }
        times.push_back(now);
        Ok(())
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
    /// The credential could not be checked (the database could not be read): not the
    /// caller's fault, answered as a server error with a reference, never as "invalid".
    Unavailable(String),
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
) -> Result<User, Rejection> {
    state.throttle.check(client).map_err(Rejection::Throttled)?;
    let Some(store) = state.store.clone() else {
        return Err(Rejection::Invalid);
    };
    let outcome = tokio::task::spawn_blocking(move || store.check_token(&token)).await;
    let (reason, token_id) = match outcome {
        Ok(Ok(AuthOutcome::Ok(user))) => return Ok(user),
        Ok(Ok(AuthOutcome::Refused { reason, token_id })) => (reason.label(), token_id),
        Ok(Err(e)) => {
            return Err(Rejection::Unavailable(format!(
                "authentication could not read the database: {e}"
            )))
        }
        Err(e) => {
            return Err(Rejection::Unavailable(format!(
                "authentication task failed: {e}"
            )))
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

/// Header carrying the CSRF token.
pub const CSRF_HEADER: &str = "x-csrf-token";

/// The authenticated caller.
#[derive(Debug, Clone)]
pub struct Caller {
    /// Display name.
    pub name: String,
    /// Role.
    pub role: Role,
    /// The CSRF token of the caller's session (`None`: not signed in by a session).
    pub csrf: Option<String>,
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
            csrf: None,
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
            csrf: None,
        });
        return next.run(req).await;
    }
    let (user, via_cookie) = match identify(&state, client, &path, req.headers()).await {
        Ok(found) => found,
        Err(Rejection::Throttled(after)) => return Rejection::throttled_response(after),
        // A server error with a reference (a page for a browser, by the error layer).
        Err(Rejection::Unavailable(cause)) => return AppError::Internal(cause).into_response(),
        Err(Rejection::Invalid) => (None, false),
    };
    let Some(user) = user else {
        return if is_api {
            AppError::Unauthorized.into_response()
        } else {
            Redirect::to("/login").into_response()
        };
    };
    // CSRF: a state-changing request carried by the session cookie must echo the session's
    // own CSRF token (a pair the attacker chose does not match it).
    if via_cookie && req.method() != Method::GET && req.method() != Method::HEAD {
        let header_token = req.headers().get(CSRF_HEADER).and_then(|v| v.to_str().ok());
        if header_token.is_none() || header_token != user.csrf.as_deref() {
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

/// Adds `Strict-Transport-Security` to every answer in HTTPS mode.
pub async fn hsts(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let mut resp = next.run(req).await;
    if state.web.https {
        resp.headers_mut().insert(
            header::STRICT_TRANSPORT_SECURITY,
            axum::http::HeaderValue::from_static(HSTS),
        );
    }
    resp
}

/// The cache key of a presented credential (a token, or a session id under its own prefix).
fn cache_key(kind: &str, secret: &str) -> [u8; 32] {
    use sha2::Digest;
    sha2::Sha256::digest(format!("{kind}\0{secret}").as_bytes()).into()
}

/// Empties the auth cache when another connection wrote to the database since the cache was
/// filled (a revocation by the CLI, among other writes): the next request re-checks.
fn forget_all_after_outside_writes(state: &AppState) {
    let Some(store) = &state.store else { return };
    match store.data_version() {
        Ok(v) => {
            let seen = state
                .auth_version
                .swap(v, std::sync::atomic::Ordering::AcqRel);
            if seen != v {
                if let Ok(mut cache) = state.auth_cache.write() {
                    cache.clear();
                }
            }
        }
        Err(e) => {
            tracing::error!("reading the database's data version: {e}; the auth cache is emptied");
            if let Ok(mut cache) = state.auth_cache.write() {
                cache.clear();
            }
        }
    }
}

/// Forgets a cached credential (sign-out).
pub fn forget(state: &AppState, kind: &str, secret: &str) {
    if let Ok(mut cache) = state.auth_cache.write() {
        cache.remove(&cache_key(kind, secret));
    }
}

/// Who presents these headers: a bearer token, else the session cookie. Returns the caller
/// (if any) and whether it came by cookie; `Err` while the client is locked out or when the
/// credential could not be checked.
async fn identify(
    state: &AppState,
    client: Option<IpAddr>,
    path: &str,
    headers: &axum::http::HeaderMap,
) -> Result<(Option<Caller>, bool), Rejection> {
    let bearer = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::trim);
    let (kind, secret, via_cookie) = match bearer {
        Some(t) => ("token", t.to_string(), false),
        None => match cookie(headers, state.web.session_cookie()) {
            Some(id) => ("session", id.to_string(), true),
            None => return Ok((None, true)),
        },
    };
    let key = cache_key(kind, &secret);
    forget_all_after_outside_writes(state);
    // The cache never extends a session past its own limits.
    let policy = state.web.sessions;
    let ttl = if via_cookie {
        CACHE_TTL.min(policy.idle / 2).min(policy.absolute / 2)
    } else {
        CACHE_TTL
    };
    let cached = state.auth_cache.read().ok().and_then(|cache| {
        let (caller, at) = cache.get(&key)?;
        (at.elapsed() < ttl).then(|| caller.clone())
    });
    if cached.is_some() {
        return Ok((cached, via_cookie));
    }
    let found = if via_cookie {
        check_session(state, secret).await?
    } else {
        match check_token(state, client, path, secret).await {
            Ok(u) => Some(Caller::from(u)),
            Err(Rejection::Invalid) => None,
            Err(other) => return Err(other),
        }
    };
    if let (Some(c), Ok(mut cache)) = (&found, state.auth_cache.write()) {
        if cache.len() > 10_000 {
            cache.clear();
        }
        cache.insert(key, (c.clone(), Instant::now()));
    }
    Ok((found, via_cookie))
}

/// The caller of a live session (an unknown or expired one is logged, not throttled: a 256-bit
/// id cannot be guessed, and an expired cookie is a normal return after a break).
async fn check_session(state: &AppState, id: String) -> Result<Option<Caller>, Rejection> {
    let Some(store) = state.store.clone() else {
        return Ok(None);
    };
    let policy = state.web.sessions;
    match tokio::task::spawn_blocking(move || store.session(&id, &policy)).await {
        Ok(Ok(Some(s))) => Ok(Some(Caller {
            csrf: Some(s.csrf),
            ..Caller::from(s.user)
        })),
        Ok(Ok(None)) => {
            tracing::info!("session unknown or expired: sign-in asked again");
            Ok(None)
        }
        Ok(Err(e)) => Err(Rejection::Unavailable(format!(
            "the session check could not read the database: {e}"
        ))),
        Err(e) => Err(Rejection::Unavailable(format!(
            "the session check task failed: {e}"
        ))),
    }
}

/// A fresh random token for CSRF (16 bytes from the OS generator, hex).
pub fn random_hex() -> String {
    use rand::RngCore;
    let mut bytes = [0u8; 16];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
