//! The OpenAPI 3.1 document of the JSON API, served at `/api/v1/openapi.json`.
//!
//! Why this module exists: a client should learn from the document what each route takes and
//! answers, and the document must not drift from the code. So nothing here is written by hand:
//! each handler carries its `#[utoipa::path]` (method, path, parameters, request body, answers
//! by status) next to its code, every request and answer type derives its schema, and the
//! router and the document are built together from one list ([`crate::api_router`]). This
//! module adds what is the API's as a whole: its title, and the bearer token it requires.

use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};

/// The document's frame: title, description, the bearer scheme required by default, and the
/// error body every refusal answers with.
#[derive(OpenApi)]
#[openapi(
    info(
        title = "storecast API",
        version = "1",
        description = "Six-week store-level sales forecasts, explanations, what-if, plans and \
                       operations. Authenticate with `Authorization: Bearer <token>`."
    ),
    security(("bearer" = [])),
    modifiers(&Bearer),
    components(schemas(crate::error::ErrorBody))
)]
pub struct ApiDoc;

/// Declares the `bearer` security scheme that [`ApiDoc`] requires.
struct Bearer;

impl Modify for Bearer {
    fn modify(&self, doc: &mut utoipa::openapi::OpenApi) {
        let scheme = HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build();
        doc.components
            .get_or_insert_with(Default::default)
            .add_security_scheme("bearer", SecurityScheme::Http(scheme));
    }
}

/// The document of every API route, generated from the router's own list.
pub fn document() -> utoipa::openapi::OpenApi {
    crate::api_router().into_openapi()
}

/// The document as JSON, built once; the error, if it could not be written, is kept for every
/// request to show.
pub fn document_json() -> Result<&'static str, &'static str> {
    static JSON: std::sync::OnceLock<Result<String, String>> = std::sync::OnceLock::new();
    JSON.get_or_init(|| document().to_json().map_err(|e| e.to_string()))
        .as_deref()
        .map_err(String::as_str)
}
