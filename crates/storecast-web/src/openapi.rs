//! The OpenAPI 3 document of the JSON API, served at `/api/v1/openapi.json`.

/// The document.
pub fn document() -> serde_json::Value {
    let store = serde_json::json!({"name": "id", "in": "path", "required": true, "schema": {"type": "integer", "minimum": 1, "maximum": 65535}});
    let err = serde_json::json!({"description": "error", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}});
    let ok = |d: &str| serde_json::json!({"description": d, "content": {"application/json": {"schema": {"type": "object"}}}});
    let mut doc = serde_json::json!({
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
            "/api/v1/analysis": {"get": {"summary": "The statistical analysis findings", "responses": {"200": ok("analysis"), "403": err, "404": err}}},
            "/api/v1/openapi.json": {"get": {"summary": "This document (no authentication)", "security": [], "responses": {"200": ok("the OpenAPI 3 document")}}}
        }
    });
    operations(&mut doc);
    planning(&mut doc);
    doc
}

/// Adds `schemas` and `paths` to the document.
fn extend(doc: &mut serde_json::Value, schemas: serde_json::Value, paths: serde_json::Value) {
    if let (Some(dst), Some(src)) = (
        doc["components"]["schemas"].as_object_mut(),
        schemas.as_object(),
    ) {
        dst.extend(src.clone());
    }
    if let (Some(dst), Some(src)) = (doc["paths"].as_object_mut(), paths.as_object()) {
        dst.extend(src.clone());
    }
}

/// The planning routes (issues 32, 33): the plan with managers' overrides, bulk entry, FVA and
/// the exception list.
fn planning(doc: &mut serde_json::Value) {
    use serde_json::json;
    let err = json!({"description": "error", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}});
    let schema = |name: &str| json!({"$ref": format!("#/components/schemas/{name}")});
    let answer = |d: &str, s: serde_json::Value| json!({"description": d, "content": {"application/json": {"schema": s}}});
    let store = json!({"name": "id", "in": "path", "required": true, "schema": {"type": "integer", "minimum": 1, "maximum": 65535}});
    let num = json!({"type": "number"});
    let int = json!({"type": "integer"});
    let text = json!({"type": "string"});
    let date = json!({"type": "string", "format": "date"});
    let kinds = json!({"type": "string", "enum": storecast_plan::overrides::AdjustmentKind::ALL.map(storecast_plan::overrides::AdjustmentKind::code)});
    let reasons = json!({"type": "string", "enum": storecast_plan::overrides::Reason::ALL.map(storecast_plan::overrides::Reason::code)});
    let schemas = json!({
        "OverrideRequest": {"type": "object", "required": ["scope", "date"], "additionalProperties": false, "properties": {
            "scope": {"type": "string", "enum": ["day", "week"]}, "date": date, "kind": kinds, "value": num, "reason": reasons,
            "note": text, "clear": {"type": "boolean"}, "confirm": {"type": "boolean", "description": "keep a plan outside the model's 95% band (otherwise 409)"}}},
        "OverrideOut": {"type": "object", "properties": {"kind": kinds, "value": num, "reason": reasons, "note": text, "author": text, "at": text, "model_version": text}},
        "PlanDay": {"type": "object", "properties": {"date": date, "open": {"type": "boolean"}, "model": num, "lo95": num, "hi95": num, "override": schema("OverrideOut"), "plan": num, "outside95": {"type": "boolean"}}},
        "StorePlan": {"type": "object", "properties": {"store": int, "model_version": text, "first_day": date, "last_day": date,
            "days": {"type": "array", "items": schema("PlanDay")},
            "weeks": {"type": "array", "items": {"type": "object", "properties": {"monday": date, "days": int, "model": num, "plan": num}}},
            "model_total": num, "plan_total": num, "overridden_days": int}},
        "OverrideRecord": {"type": "object", "properties": {"id": int, "store": int, "date": date, "adjustment": {"type": "object", "nullable": true, "properties": {"kind": kinds, "value": num}}, "reason": reasons, "note": text, "model_version": text, "model_forecast": num, "plan": num, "author": text, "at": text}},
        "BulkOutcome": {"type": "object", "properties": {"days": int, "stores": {"type": "array", "items": int}}},
        "Exception": {"type": "object", "properties": {"store": int, "store_type": text, "score": num, "reasons": {"type": "array", "items": {"type": "object"}}, "href": text, "acknowledged": {"type": "object", "nullable": true}}},
        "ExceptionAck": {"type": "object", "properties": {"id": int, "store": int, "note": text, "model_version": text, "author": text, "at": text}}
    });
    let paths = json!({
        "/api/v1/stores/{id}/plan": {"get": {"summary": "The store's plan: each day's and week's model forecast, override in force and final plan", "parameters": [store], "responses": {"200": answer("plan", schema("StorePlan")), "400": err, "403": err, "404": err}}},
        "/api/v1/stores/{id}/overrides": {
            "get": {"summary": "Every edit of the store's overrides, newest first", "parameters": [store], "responses": {"200": answer("history", json!({"type": "array", "items": schema("OverrideRecord")})), "403": err}},
            "post": {"summary": "Enter, change or withdraw an override of a day or a week of the horizon (the store's managers, directors, admins; audited)", "parameters": [store],
                "requestBody": {"required": true, "content": {"application/json": {"schema": schema("OverrideRequest")}}},
                "responses": {"200": answer("the new plan", schema("StorePlan")), "400": err, "403": err, "404": err, "409": err}}},
        "/api/v1/overrides.csv": {"post": {"summary": "Bulk overrides (`store,date,kind,value,reason,note`, one day per line) for the caller's stores; all or nothing, every bad row named by line and column",
            "parameters": [{"name": "confirm", "in": "query", "schema": {"type": "boolean"}, "description": "keep rows whose plan lies outside the model's 95% band"}],
            "requestBody": {"required": true, "content": {"text/csv": {"schema": {"type": "string"}}}},
            "responses": {"200": answer("recorded", schema("BulkOutcome")), "400": err, "403": err}}},
        "/api/v1/fva": {"get": {"summary": "Forecast Value Added: naive, model and plan scored on the same store-days, by store, type, reason, manager and horizon week, with 90% intervals (a manager: their own record)", "responses": {"200": answer("FVA", json!({"type": "object"})), "400": err}}},
        "/api/v1/chain/forecast.csv": {"get": {"summary": "Every store's daily forecast with 80/95% bands, override and plan, as CSV (directors and admins)", "responses": {"200": {"description": "CSV", "content": {"text/csv": {}}}, "403": err}}},
        "/api/v1/chain/submission.csv": {"get": {"summary": "The served forecast in the competition format (Id,Sales), one line per request of the forecast period (directors and admins)", "responses": {"200": {"description": "CSV", "content": {"text/csv": {}}}, "403": err, "404": err}}},
        "/api/v1/exceptions": {"get": {"summary": "Stores ranked by where a director's attention pays, with reasons (directors and admins)", "responses": {"200": answer("list", json!({"type": "array", "items": schema("Exception")})), "403": err}}},
        "/api/v1/exceptions/{id}/ack": {"post": {"summary": "Acknowledge a store of the exception list with a note (directors and admins; audited)", "parameters": [store],
            "requestBody": {"required": true, "content": {"application/json": {"schema": {"type": "object", "required": ["note"], "properties": {"note": text}}}}},
            "responses": {"200": answer("acknowledged", schema("ExceptionAck")), "400": err, "403": err, "404": err}}}
    });
    extend(doc, schemas, paths);
}

/// The operations routes (issue 31): deliveries, monitoring, alerts, the registry.
fn operations(doc: &mut serde_json::Value) {
    use serde_json::json;
    let err = json!({"description": "error", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}});
    let schema = |name: &str| json!({"$ref": format!("#/components/schemas/{name}")});
    let answer = |d: &str, name: &str| json!({"description": d, "content": {"application/json": {"schema": schema(name)}}});
    let body = |name: &str| json!({"required": true, "content": {"application/json": {"schema": schema(name)}}});
    let num = json!({"type": "number"});
    let int = json!({"type": "integer"});
    let text = json!({"type": "string"});
    let accuracy = json!({"type": "object", "properties": {"n": int, "rmspe": num, "mape": num, "wape": num, "bias": num, "cover80": num, "cover95": num, "actual_total": num, "forecast_total": num}});
    let schemas = json!({
        "RowFinding": {"type": "object", "required": ["rule", "message"], "properties": {"line": int, "column": text, "store": int, "rule": text, "message": text}},
        "UploadAnswer": {"type": "object", "required": ["stored", "file", "sha256", "findings"], "properties": {"stored": {"type": "boolean"}, "file": text, "sha256": text, "rows": int, "inserted": int, "unchanged": int, "corrected": int, "alerts_raised": int, "message": text, "findings": {"type": "array", "items": schema("RowFinding")}}},
        "Accuracy": accuracy,
        "Monitoring": {"type": "object", "required": ["model_version", "scope", "overall"], "properties": {
            "model_version": text, "scope": text, "thresholds": {"type": "object"},
            "dates": {"type": "array", "items": {"type": "string", "format": "date"}, "minItems": 2, "maxItems": 2},
            "overall": schema("Accuracy"),
            "by_store_type": {"type": "array", "items": {"type": "object", "properties": {"store_type": text, "stores": int, "accuracy": schema("Accuracy")}}},
            "by_store": {"type": "array", "items": {"type": "object", "properties": {"store": int, "store_type": text, "accuracy": schema("Accuracy")}}},
            "by_week": {"type": "array", "items": {"type": "object", "properties": {"label": text, "monday": {"type": "string", "format": "date"}, "accuracy": schema("Accuracy")}}},
            "by_horizon": {"type": "array", "items": {"type": "object", "properties": {"week": int, "accuracy": schema("Accuracy")}}},
            "drift": {"type": "array", "items": {"type": "object", "properties": {"feature": text, "psi": num, "level": text}}},
            "cusum": {"type": "array", "items": {"type": "object", "properties": {"store": int, "n": int, "max_upper": num, "max_lower": num, "alarm": {"type": "object", "nullable": true}}}}}},
        "Alert": {"type": "object", "required": ["id", "kind", "scope", "value", "threshold", "message", "acknowledged"], "properties": {"id": int, "at": text, "kind": {"type": "string", "enum": storecast_store::AlertKind::ALL.map(storecast_store::AlertKind::name)}, "scope": text, "value": num, "threshold": num, "message": text, "acknowledged": {"type": "boolean"}, "acknowledged_by": text, "acknowledged_at": text, "acknowledged_note": text}},
        "Alerts": {"type": "object", "properties": {"open": {"type": "array", "items": schema("Alert")}, "acknowledged": {"type": "array", "items": schema("Alert")}}},
        "AckRequest": {"type": "object", "required": ["note"], "additionalProperties": false, "properties": {"note": {"type": "string", "minLength": 1, "maxLength": storecast_store::MAX_NOTE_CHARS}}},
        "Version": {"type": "object", "properties": {"version": text, "trained_at": text, "train_end": {"type": "string", "format": "date"}, "data_fingerprint": text, "code_version": text, "fold_rmspe": {"type": "array", "items": num}, "verified": {"type": "boolean"}, "problem": text, "active": {"type": "boolean"}, "served": {"type": "boolean"}, "promoted_by": text, "promoted_at": text}},
        "Models": {"type": "object", "properties": {"served": text, "can_act": {"type": "boolean"}, "versions": {"type": "array", "items": schema("Version")}}},
        "SwitchRequest": {"type": "object", "additionalProperties": false, "properties": {"reason": text}},
        "SwitchAnswer": {"type": "object", "properties": {"from": text, "to": text, "served": text, "message": text}}
    });
    let paths = json!({
        "/api/v1/actuals": {"post": {"summary": "Deliver daily actuals (train.csv format, optionally gzipped) as the body: checked like `storecast ingest`, stored whole or not at all, audited; a store manager delivers their own stores' rows only",
            "parameters": [
                {"name": "name", "in": "query", "schema": {"type": "string"}, "description": "the file's name, kept with the delivery"},
                {"name": "correct", "in": "query", "schema": {"type": "string"}, "description": "replace stored actuals the file contradicts, for this reason"},
                {"name": "accept_implausible", "in": "query", "schema": {"type": "string"}, "description": "store rows the plausibility check refuses, for this reason"}],
            "requestBody": {"required": true, "content": {"text/csv": {"schema": {"type": "string"}}}},
            "responses": {"200": answer("stored", "UploadAnswer"), "403": answer("rows of stores the caller may not deliver for, by line", "UploadAnswer"), "413": err, "422": answer("refused, nothing written: every finding by line and column", "UploadAnswer")}}},
        "/api/v1/monitoring": {"get": {"summary": "Live accuracy of the served model's issued forecasts by store type, store, ISO week and horizon week; coverage; drift; CUSUM; thresholds (a store manager: their stores only)", "responses": {"200": answer("monitoring", "Monitoring"), "400": err}}},
        "/api/v1/alerts": {"get": {"summary": "Open alerts and the acknowledged history (directors and admins)", "responses": {"200": answer("alerts", "Alerts"), "403": err}}},
        "/api/v1/alerts/{id}/ack": {"post": {"summary": "Acknowledge an alert with a note (directors and admins; audited)",
            "parameters": [{"name": "id", "in": "path", "required": true, "schema": {"type": "integer"}}],
            "requestBody": body("AckRequest"), "responses": {"200": answer("the alert", "Alert"), "400": err, "403": err, "404": err}}},
        "/api/v1/models": {"get": {"summary": "The registry's versions with fold RMSPE, signature check, training data and who promoted them (directors and admins)", "responses": {"200": answer("versions", "Models"), "403": err, "404": err}}},
        "/api/v1/models/{version}/promote": {"post": {"summary": "Make a version active and serve it (admins; audited; refused for a version that does not verify)",
            "parameters": [{"name": "version", "in": "path", "required": true, "schema": {"type": "string"}}],
            "requestBody": body("SwitchRequest"), "responses": {"200": answer("switched", "SwitchAnswer"), "400": err, "403": err, "404": err}}},
        "/api/v1/models/rollback": {"post": {"summary": "Make the previously active version active again and serve it (admins; audited)",
            "requestBody": body("SwitchRequest"), "responses": {"200": answer("switched", "SwitchAnswer"), "400": err, "403": err, "404": err}}}
    });
    extend(doc, schemas, paths);
}
