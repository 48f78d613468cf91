//! The OpenAPI 3.1 description served at `/api/v1/openapi.json`. Hand-written (the API is
//! small; a generator crate would add a macro layer over every handler) and tested against
//! `ROUTES`, so a route cannot be added or removed without the description following.

use serde_json::{Value, json};

fn error_response(description: &str) -> Value {
    json!({ "description": description, "content": { "application/json": { "schema": { "$ref": "#/components/schemas/Error" } } } })
}

fn id_param() -> Value {
    json!({ "name": "id", "in": "path", "required": true, "schema": { "type": "integer", "minimum": 1 } })
}

fn decision(summary: &str) -> Value {
    json!({
        "post": {
            "summary": summary,
            "security": [{ "bearer": ["approve"] }],
            "parameters": [id_param()],
            "requestBody": { "required": false, "content": { "application/json": { "schema": { "$ref": "#/components/schemas/Decision" } } } },
            "responses": {
                "200": { "description": "the action after the decision", "content": { "application/json": { "schema": { "$ref": "#/components/schemas/Action" } } } },
                "401": error_response("no or bad token"),
                "403": error_response("token lacks the approve scope"),
                "404": error_response("no such action"),
                "409": error_response("the action is not in a state for this decision")
            }
        }
    })
}

/// A GET of one object by id.
fn get_one(summary: &str, what: &str) -> Value {
    json!({ "get": {
        "summary": summary,
        "security": [{ "bearer": ["read"] }],
        "parameters": [id_param()],
        "responses": { "200": { "description": what }, "401": error_response("no or bad token"), "404": error_response("not found") }
    } })
}

/// What the CLI and attached consoles use beyond the list endpoints.
fn detail_paths() -> Value {
    json!({
        "/api/v1/threats/{id}": get_one("One alert (up to 1,000 evidence refs) and its stored explanation", "{\"alert\": Alert, \"explanation\": object or null}"),
        "/api/v1/threats/{id}/timeline": get_one("An alert's evidence over time: counts per bucket and the first events", "the timeline"),
        "/api/v1/threats/{id}/ack": { "post": {
            "summary": "Acknowledge an alert (someone is on it)",
            "security": [{ "bearer": ["approve"] }],
            "parameters": [id_param()],
            "responses": { "200": { "description": "the alert" }, "404": error_response("no such alert") }
        } },
        "/api/v1/threats/{id}/close": { "post": {
            "summary": "Close an alert with a reason",
            "security": [{ "bearer": ["approve"] }],
            "parameters": [id_param()],
            "requestBody": { "required": true, "content": { "application/json": { "schema": { "type": "object", "required": ["reason"], "properties": { "reason": { "type": "string", "enum": ["true_positive", "false_positive", "benign", "duplicate"] } } } } } },
            "responses": { "200": { "description": "the alert" }, "400": error_response("no or bad reason"), "404": error_response("no such alert") }
        } },
        "/api/v1/events/{id}": get_one("One stored event (pseudonymised when privacy is on)", "the event"),
        "/api/v1/actions/{id}": get_one("One response action", "the action"),
        "/api/v1/audit": { "get": {
            "summary": "The MAC-chained audit log in order, paged by sequence number; verify=true checks the chain",
            "security": [{ "bearer": ["read"] }],
            "parameters": [
                { "name": "after", "in": "query", "schema": { "type": "integer", "minimum": 0 } },
                { "name": "limit", "in": "query", "schema": { "type": "integer", "minimum": 1, "maximum": 10000 } },
                { "name": "verify", "in": "query", "schema": { "type": "boolean" } }
            ],
            "responses": { "200": { "description": "{\"records\": [...], \"next_after\": integer or null, \"verify\": report or null}" } }
        } },
        "/api/v1/stream": { "get": {
            "summary": "The pipeline's events as Server-Sent Events: `hello` (the owner's status), the current picture (unless replay=false), then live `pipeline` events",
            "security": [{ "bearer": ["read"] }],
            "parameters": [ { "name": "replay", "in": "query", "schema": { "type": "boolean" } } ],
            "responses": { "200": { "description": "an event stream", "content": { "text/event-stream": {} } } }
        } }
    })
}

pub fn document() -> Value {
    let mut doc = base();
    if let (Some(paths), Value::Object(more)) = (doc["paths"].as_object_mut(), detail_paths()) {
        paths.extend(more);
    }
    doc
}

fn base() -> Value {
    json!({
        "openapi": "3.1.0",
        "info": {
            "title": "AutoSec API",
            "version": env!("CARGO_PKG_VERSION"),
            "description": "Headless AutoSec: ingest logs, read threats and actions, decide on RED actions. Bearer token required except for /health and this document; requests with an Origin header or an unexpected Host are refused; POST bodies must be JSON or NDJSON. The same API answers on the data dir's control socket (control.sock, mode 0600) without a token."
        },
        "components": {
            "securitySchemes": { "bearer": { "type": "http", "scheme": "bearer" } },
            "schemas": {
                "Error": { "type": "object", "required": ["error"], "properties": { "error": { "type": "string" } } },
                "Decision": { "type": "object", "properties": { "reason": { "type": "string" }, "confirm_closed": { "type": "boolean" }, "by": { "type": "string", "description": "who decided; honoured on the control socket only (a token's name otherwise)" } } },
                "Action": { "type": "object", "description": "A response action (see README, Response)", "required": ["action_id", "alert_id", "kind", "tier", "state", "preview"] },
                "Alert": { "type": "object", "description": "A threat alert; evidence is cut to 20 refs", "required": ["alert_id", "severity", "confidence", "threat_type", "description", "timestamp"] },
                "IngestResult": {
                    "type": "object",
                    "required": ["accepted", "rejected", "rejections", "durable"],
                    "properties": {
                        "accepted": { "type": "integer" },
                        "rejected": { "type": "integer" },
                        "rejections": { "type": "array", "items": { "type": "object", "properties": { "reason": { "type": "string" }, "detail": { "type": "string" }, "line": { "type": ["integer", "null"] } } } },
                        "first_event_id": { "type": "integer" },
                        "durable": { "type": "boolean" }
                    }
                }
            }
        },
        "paths": {
            "/health": { "get": {
                "summary": "Storage, models and pipeline status (no token needed)",
                "responses": { "200": { "description": "healthy" }, "503": { "description": "storage unavailable" } }
            } },
            "/api/v1/openapi.json": { "get": {
                "summary": "This document",
                "responses": { "200": { "description": "OpenAPI 3.1" } }
            } },
            "/api/v1/logs/ingest": { "post": {
                "summary": "Store log records; answered once they are durable",
                "security": [{ "bearer": ["ingest"] }],
                "parameters": [
                    { "name": "format", "in": "query", "schema": { "type": "string", "enum": ["auto", "cloudtrail", "jsonl", "syslog", "csv"] } },
                    { "name": "source", "in": "query", "schema": { "type": "string" }, "description": "names the source in each event's origin" }
                ],
                "requestBody": { "required": true, "description": "a JSON object, a JSON array, NDJSON, or CloudTrail {\"Records\": [...]}; gzip accepted (by magic bytes)", "content": {
                    "application/json": { "schema": {} }, "application/x-ndjson": { "schema": {} }
                } },
                "responses": {
                    "200": { "description": "counts accepted and rejected, with reasons", "content": { "application/json": { "schema": { "$ref": "#/components/schemas/IngestResult" } } } },
                    "400": error_response("undecodable body (bad gzip, bad JSON array, unknown format)"),
                    "401": error_response("no or bad token"),
                    "403": error_response("token lacks the ingest scope"),
                    "413": error_response("body larger than api.max_body_bytes"),
                    "415": error_response("not JSON or NDJSON"),
                    "429": error_response("rate limited (Retry-After)"),
                    "503": error_response("busy or stopping (Retry-After)")
                }
            } },
            "/api/v1/threats": { "get": {
                "summary": "Alerts, newest first, filtered and paged",
                "security": [{ "bearer": ["read"] }],
                "parameters": [
                    { "name": "status", "in": "query", "schema": { "type": "string", "enum": ["open", "acknowledged", "closed"] } },
                    { "name": "severity", "in": "query", "description": "minimum", "schema": { "type": "string", "enum": ["low", "medium", "high", "critical"] } },
                    { "name": "since", "in": "query", "description": "last seen at or after (RFC 3339)", "schema": { "type": "string", "format": "date-time" } },
                    { "name": "limit", "in": "query", "schema": { "type": "integer", "minimum": 1, "maximum": 1000 } },
                    { "name": "offset", "in": "query", "schema": { "type": "integer", "minimum": 0 } },
                    { "name": "evidence", "in": "query", "description": "evidence refs listed per alert (default 20)", "schema": { "type": "integer", "minimum": 0 } }
                ],
                "responses": {
                    "200": { "description": "a page of alerts", "content": { "application/json": { "schema": { "type": "object", "properties": {
                        "total": { "type": "integer" }, "offset": { "type": "integer" }, "next_offset": { "type": ["integer", "null"] },
                        "alerts": { "type": "array", "items": { "$ref": "#/components/schemas/Alert" } } } } } } },
                    "400": error_response("bad filter"),
                    "401": error_response("no or bad token")
                }
            } },
            "/api/v1/analyze": { "post": {
                "summary": "Retrieve intel and explain an alert: the grounded template at once, the model's verified text when ready",
                "security": [{ "bearer": ["read"] }],
                "parameters": [ { "name": "wait", "in": "query", "description": "seconds to wait for the model's text (max 120)", "schema": { "type": "integer" } } ],
                "requestBody": { "required": true, "content": { "application/json": { "schema": { "type": "object", "required": ["alert_id"], "properties": { "alert_id": { "type": "integer" }, "regenerate": { "type": "boolean" } } } } } },
                "responses": {
                    "200": { "description": "the explanation and the model's status (done, pending, unavailable)" },
                    "400": error_response("bad body"),
                    "404": error_response("no such alert")
                }
            } },
            "/api/v1/actions": { "get": {
                "summary": "Response actions",
                "security": [{ "bearer": ["read"] }],
                "parameters": [ { "name": "state", "in": "query", "schema": { "type": "string" } } ],
                "responses": { "200": { "description": "actions", "content": { "application/json": { "schema": { "type": "object", "properties": {
                    "total": { "type": "integer" }, "actions": { "type": "array", "items": { "$ref": "#/components/schemas/Action" } } } } } } } }
            } },
            "/api/v1/actions/{id}/approve": decision("Approve a RED action waiting for approval (runs it: sandboxed unless live)"),
            "/api/v1/actions/{id}/reject": decision("Reject an action waiting for approval"),
            "/api/v1/actions/{id}/rollback": decision("Roll an action back (its inverse; sandboxed unless live)"),
            "/metrics": { "get": {
                "summary": "Prometheus text format: events, rejections, alerts, actions, pipeline idle time",
                "security": [{ "bearer": ["read"] }],
                "responses": { "200": { "description": "metrics", "content": { "text/plain": {} } } }
            } }
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_document_describes_exactly_the_routes() {
        let doc = document();
        let paths = doc["paths"].as_object().unwrap();
        let mut described = Vec::new();
        for (path, ops) in paths {
            for method in ops.as_object().unwrap().keys() {
                described.push((method.to_uppercase(), path.clone()));
            }
        }
        described.sort();
        let mut routed: Vec<(String, String)> = super::super::ROUTES
            .iter()
            .map(|(m, p, _)| (m.as_str().to_string(), p.to_string()))
            .collect();
        routed.sort();
        assert_eq!(described, routed);
        // Scopes in the document match the ones the guard enforces.
        for (m, p, scope) in super::super::ROUTES {
            let op = &paths[p][m.as_str().to_lowercase()];
            let doc_scope = op["security"][0]["bearer"][0].as_str();
            let want = scope.map(|s| format!("{s:?}").to_lowercase());
            assert_eq!(doc_scope.map(str::to_string), want, "{m} {p}");
        }
    }
}
