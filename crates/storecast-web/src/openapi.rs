//! The OpenAPI 3 document of the JSON API, served at `/api/v1/openapi.json`.

/// The document.
pub fn document() -> serde_json::Value {
    let store = serde_json::json!({"name": "id", "in": "path", "required": true, "schema": {"type": "integer", "minimum": 1, "maximum": 65535}});
    let err = serde_json::json!({"description": "error", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}});
    let ok = |d: &str| serde_json::json!({"description": d, "content": {"application/json": {"schema": {"type": "object"}}}});
    serde_json::json!({
        "openapi": "3.0.3",
        "info": {"title": "storecast API", "version": "1", "description": "Six-week store-level sales forecasts, explanations and what-if. Authenticate with `Authorization: Bearer <token>`."},
        "components": {
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
            "schemas": {"Error": {"type": "object", "required": ["error", "status"], "properties": {"error": {"type": "string"}, "status": {"type": "integer"}}}}
        },
        "security": [{"bearer": []}],
        "paths": {
            "/api/v1/stores": {"get": {"summary": "Stores the caller may see, with forecast totals", "responses": {"200": ok("list"), "401": err}}},
            "/api/v1/stores/{id}/forecast": {"get": {"summary": "Daily forecast with 80/95% intervals and weekly totals", "parameters": [store], "responses": {"200": ok("forecast"), "400": err, "401": err, "403": err, "404": err}}},
            "/api/v1/stores/{id}/forecast.csv": {"get": {"summary": "The same as CSV", "parameters": [store], "responses": {"200": {"description": "CSV", "content": {"text/csv": {}}}, "400": err, "403": err, "404": err}}},
            "/api/v1/stores/{id}/history": {"get": {"summary": "Actual sales of the last days", "parameters": [store, {"name": "days", "in": "query", "schema": {"type": "integer", "minimum": 1, "maximum": 1000}}], "responses": {"200": ok("history"), "400": err, "403": err, "404": err}}},
            "/api/v1/stores/{id}/explain": {"get": {"summary": "A day's forecast explained in euros by driver", "parameters": [store, {"name": "date", "in": "query", "required": true, "schema": {"type": "string", "format": "date"}}], "responses": {"200": ok("explanation"), "400": err, "403": err, "404": err}}},
            "/api/v1/stores/{id}/whatif": {"post": {"summary": "Re-forecast with changed days (promo, open, holidays)", "parameters": [store],
                "requestBody": {"required": true, "content": {"application/json": {"schema": {"type": "object", "required": ["changes"], "properties": {"changes": {"type": "array", "minItems": 1, "maxItems": 62, "items": {"type": "object", "required": ["date"], "properties": {"date": {"type": "string", "format": "date"}, "promo": {"type": "boolean"}, "open": {"type": "boolean"}, "school_holiday": {"type": "boolean"}, "state_holiday": {"type": "string", "enum": ["0", "a", "b", "c"]}}}}}}}}},
                "responses": {"200": ok("delta in € and % with the change by driver"), "400": err, "403": err, "404": err}}},
            "/api/v1/chain/forecast": {"get": {"summary": "Chain and store-type daily totals with intervals", "responses": {"200": ok("totals"), "403": err}}},
            "/api/v1/model": {"get": {"summary": "Model version and features; training data fingerprint, backtest metrics and coverage for directors and admins", "responses": {"200": ok("model")}}},
            "/api/v1/job": {"get": {"summary": "The served model's identity (provisional or not); the background job's step, done / total and time left for directors and admins, its error for admins", "responses": {"200": ok("job status")}}},
            "/api/v1/validation": {"get": {"summary": "The data quality report", "responses": {"200": ok("report"), "403": err}}},
            "/api/v1/analysis": {"get": {"summary": "The statistical analysis findings", "responses": {"200": ok("analysis"), "403": err, "404": err}}}
        }
    })
}
