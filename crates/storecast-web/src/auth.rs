//! Who is asking, and may they: token authentication (a `Bearer` header for the API, an
//! HttpOnly cookie set by the sign-in page for the browser), roles with store scoping, and a
//! double-submit CSRF token on every state-changing request authenticated by cookie.

use crate::error::AppError;
use crate::state::AppState;
use axum::extract::{Request, State};
use axum::http::{header, Method};
use axum::middleware::Next;
use axum::response::{IntoResponse, Redirect, Response};
use storecast_store::{Role, User};

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

/// Authenticates every request except the public ones (sign-in, assets, health, metrics).
pub async fn middleware(State(state): State<AppState>, mut req: Request, next: Next) -> Response {
    let path = req.uri().path().to_string();
    let public = path == "/login"
        || path.starts_with("/assets/")
        || path == "/healthz"
        || path == "/metrics"
        || path == "/favicon.ico"
        || path == "/api/v1/openapi.json";
    if public {
        return next.run(req).await;
    }
    let is_api = path.starts_with("/api/");
    if !state.auth_required {
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
    let user: Option<Caller> = match (cached, &state.store, token) {
        (Some(c), _, _) => Some(c),
        (None, Some(store), Some(t)) => {
            let store = store.clone();
            let found: Option<Caller> = tokio::task::spawn_blocking(move || store.authenticate(&t))
                .await
                .ok()
                .and_then(Result::ok)
                .flatten()
                .map(Caller::from);
            if let (Some(c), Some(k)) = (&found, key) {
                if let Ok(mut cache) = state.auth_cache.write() {
                    if cache.len() > 10_000 {
                        cache.clear();
                    }
                    cache.insert(k, (c.clone(), std::time::Instant::now()));
                }
            }
            found
        }
        _ => None,
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
    next.run(req).await
}

/// A fresh random token for CSRF (16 bytes from the OS generator, hex).
pub fn random_hex() -> String {
    use rand::RngCore;
    let mut bytes = [0u8; 16];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
