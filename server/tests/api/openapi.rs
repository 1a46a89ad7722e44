//! The OpenAPI document as served, and the events it describes as they really are: every
//! event the tests cause, read back through the events API (the bytes a webhook sends),
//! validated against its webhook's schema in the served document by an independent JSON
//! Schema validator. (That the routes and the checked-in copy match the code is a unit
//! test of `http::openapi`; schemathesis holds the running server to it in CI.)

use std::collections::BTreeSet;
use std::time::Duration;

use serde_json::Value;

use crate::helpers::{Db, TestApp};
use crate::on_both_databases;

on_both_databases!(
    the_document_is_served,
    ids_that_cannot_exist_are_not_found_not_errors
);

async fn the_document_is_served(db: Db) {
    let app = TestApp::spawn(db).await;
    let response = app.http.get(app.url("/openapi.json")).send().await.unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(
        response.headers()["content-type"].to_str().unwrap(),
        "application/json"
    );
    let served = response.text().await.unwrap();
    let checked_in = include_str!("../../openapi.json");
    assert!(
        served == checked_in,
        "GET /openapi.json is server/openapi.json"
    );
    let document: Value = serde_json::from_str(&served).unwrap();
    assert_eq!(document["openapi"], "3.1.0");
    // A method a path does not take is a 405 naming the ones it does.
    let response = app.http.delete(app.url("/v1/orders")).send().await.unwrap();
    assert_eq!(response.status(), 405);
    assert_eq!(response.headers()["allow"].to_str().unwrap(), "POST");
    let error: Value = response.json().await.unwrap();
    assert_eq!(error["code"], "METHOD_NOT_ALLOWED");
    app.cleanup().await;
}

/// What schemathesis found on PostgreSQL: a NUL in an id reached the database, which
/// refuses it as an error (500). Such an id is known absent without asking.
async fn ids_that_cannot_exist_are_not_found_not_errors(db: Db) {
    let app = TestApp::spawn(db).await;
    let (token, _) = app.login().await;
    for id in ["%00", "a%00b", "%C3%95%1E", "x%20y"] {
        let (status, body) = app
            .send(
                app.http
                    .get(app.url(&format!("/v1/orders/{id}")))
                    .bearer_auth(&token),
            )
            .await;
        assert_eq!(
            (status, body["code"].as_str()),
            (404, Some("ORDER_NOT_FOUND")),
            "{id}"
        );
        for (path, code) in [
            (format!("/v1/admin/orders/{id}/refunds"), "ORDER_NOT_FOUND"),
            (format!("/v1/admin/events/{id}"), "EVENT_NOT_FOUND"),
        ] {
            let (status, body) = app.admin_get(&path).await;
            assert_eq!((status, body["code"].as_str()), (404, Some(code)), "{path}");
        }
        let (status, body) = app.admin_get(&format!("/v1/admin/events?after={id}")).await;
        assert_eq!(
            (status, body["code"].as_str()),
            (400, Some("INVALID_CURSOR")),
            "{id}"
        );
    }
    let (status, body) = app.admin_get("/v1/admin/orders?reference=a%00").await;
    assert_eq!(
        (status, body["code"].as_str()),
        (400, Some("INVALID_QUERY"))
    );
    app.cleanup().await;
}

/// Every event the app holds, as the events API lists it (once all are listed: on
/// PostgreSQL an event waits for older transactions), checked against the schema of its
/// type's webhook in the served document; the types checked.
pub async fn events_match_the_document(app: &TestApp) -> BTreeSet<String> {
    let document: Value = app
        .http
        .get(app.url("/openapi.json"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let stored: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM events")
        .fetch_one(app.state.store.pool())
        .await
        .unwrap();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(15);
    let events = loop {
        let (status, page) = app.admin_get("/v1/admin/events?limit=500").await;
        assert_eq!(status, 200, "{page}");
        let events = page["events"].as_array().unwrap().clone();
        if events.len() as i64 >= stored || tokio::time::Instant::now() >= deadline {
            break events;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert_eq!(events.len() as i64, stored, "every event listed");
    let mut types = BTreeSet::new();
    for mut event in events {
        event.as_object_mut().unwrap().remove("delivery");
        let kind = event["type"].as_str().unwrap().to_owned();
        let reference = document["webhooks"][&kind]["post"]["requestBody"]["content"]
            ["application/json"]["schema"]["$ref"]
            .as_str()
            .unwrap_or_else(|| panic!("no webhook for {kind}"));
        let name = reference.trim_start_matches("#/components/schemas/");
        let schema = &document["components"]["schemas"][name];
        let validator = jsonschema::draft202012::new(schema).unwrap();
        let errors: Vec<String> = validator
            .iter_errors(&event)
            .map(|e| format!("{} at {}", e, e.instance_path()))
            .collect();
        assert!(errors.is_empty(), "{kind} {event}: {errors:?}");
        // The schema is closed: a field it does not name fails (so the check can).
        let mut grown = event.clone();
        grown["data"]["surprise"] = Value::from(1);
        assert!(
            !validator.is_valid(&grown),
            "{kind}: an unnamed field is refused"
        );
        types.insert(kind);
    }
    types
}
