//! The events API (`/v1/admin/events`): the outbox for a merchant that would rather pull
//! (a cursor, oldest first), or that catches up after an outage; each event with its
//! delivery attempts; and a redelivery on demand.

use actix_web::{HttpResponse, http::StatusCode, web};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::error_response::ErrorBody;
use super::openapi::{AdminAuth, BadInput, Storage};
use crate::base::clock::{now_ms, rfc3339};
use crate::base::error::ApiError;
use crate::base::ids;
use crate::http::admin::{Admin, list_limit};
use crate::state::AppState;
use crate::store::{AttemptRow, EventFilter, EventRow, EventType};
use crate::webhooks::payload::{Payload, payload};

/// An event as listed: what a webhook carries, and how its delivery stands.
#[derive(Debug, Serialize, ToSchema)]
pub(super) struct EventView {
    #[serde(flatten)]
    payload: Payload,
    delivery: DeliveryView,
}

#[derive(Debug, Serialize, ToSchema)]
pub(super) struct DeliveryView {
    /// none (no endpoint when it happened), pending, delivered or failed.
    #[schema(examples("delivered"))]
    state: String,
    /// Attempts since it was last scheduled.
    attempts: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    next_attempt_at: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    delivered_at: Option<String>,
}

impl EventView {
    fn of(event: &EventRow) -> EventView {
        EventView {
            payload: payload(event),
            delivery: DeliveryView {
                state: event.delivery.clone(),
                attempts: event.attempts,
                next_attempt_at: event.next_attempt_at.map(rfc3339),
                delivered_at: event.delivered_at.map(rfc3339),
            },
        }
    }
}

/// One delivery attempt.
#[derive(Debug, Serialize, ToSchema)]
pub(super) struct AttemptView {
    attempt: i64,
    started_at: String,
    duration_ms: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    status_code: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    response_excerpt: Option<String>,
}

impl AttemptView {
    fn of(row: AttemptRow) -> AttemptView {
        AttemptView {
            attempt: row.attempt,
            started_at: rfc3339(row.started_at),
            duration_ms: row.duration_ms,
            status_code: row.status_code,
            error: row.error,
            response_excerpt: row.response_excerpt,
        }
    }
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub(super) struct ListQuery {
    /// The last event id seen: the page starts after it.
    after: Option<String>,
    /// Only events of this type (e.g. `order.paid`).
    #[serde(rename = "type")]
    #[param(rename = "type")]
    kind: Option<String>,
    /// 1 to 500 (default 100).
    #[param(minimum = 1, maximum = 500)]
    limit: Option<i64>,
}

#[derive(Serialize, ToSchema)]
pub(super) struct EventPage<'a> {
    /// Oldest first.
    events: Vec<EventView>,
    /// The last event's id: `after` for the next page (null on an empty page).
    next_after: Option<&'a str>,
}

#[derive(Serialize, ToSchema)]
pub(super) struct EventDetail {
    event: EventView,
    /// Oldest first.
    attempts: Vec<AttemptView>,
}

#[derive(Serialize, ToSchema)]
pub(super) struct Redelivered {
    event: EventView,
}

fn event_not_found() -> ApiError {
    ApiError::new(
        StatusCode::NOT_FOUND,
        "EVENT_NOT_FOUND",
        "no event with this id",
    )
}

/// `GET /v1/admin/events?after=&type=&limit=`: events oldest first; pass the last id of
/// a page as `after` for the next.
#[utoipa::path(get, path = "/v1/admin/events", tag = "events", operation_id = "list_events",
    security(("admin_token" = [])),
    params(ListQuery),
    responses((status = 200, description = "A page of events", body = EventPage),
        BadInput, AdminAuth, Storage))]
pub(super) async fn list(
    admin: Admin,
    state: web::Data<AppState>,
    query: web::Query<ListQuery>,
) -> Result<HttpResponse, ApiError> {
    let kind = match query.kind.as_deref() {
        None => None,
        Some(name) => Some(EventType::parse(name).ok_or_else(|| {
            let known: Vec<&str> = EventType::ALL.iter().map(|t| t.as_str()).collect();
            ApiError::bad_request(
                "INVALID_QUERY",
                format!("type must be one of {}", known.join(", ")),
            )
        })?),
    };
    let limit = list_limit(query.limit, 100)?;
    let after_seq = match query.after.as_deref() {
        None => None,
        Some(id) if !ids::plausible_id(id) => {
            return Err(ApiError::bad_request(
                "INVALID_CURSOR",
                "after must be the id of an event",
            ));
        }
        Some(id) => Some(state.store.event_seq(id).await?.ok_or_else(|| {
            ApiError::bad_request("INVALID_CURSOR", "after must be the id of an event")
        })?),
    };
    let events = state
        .store
        .list_events(
            &EventFilter {
                after_seq,
                kind,
                mch_id: admin.mch_id.clone(),
                limit,
            },
            now_ms(),
        )
        .await?;
    Ok(HttpResponse::Ok().json(EventPage {
        events: events.iter().map(EventView::of).collect(),
        next_after: events.last().map(|e| e.id.as_str()),
    }))
}

/// `event` if the caller may see it (a merchant: an event of its own orders), else as if
/// there were none.
fn seen_by(admin: &Admin, event: Option<EventRow>) -> Result<EventRow, ApiError> {
    event
        .filter(|e| match &admin.mch_id {
            None => true,
            Some(mch_id) => e.order.as_ref().is_some_and(|o| o.mch_id == *mch_id),
        })
        .ok_or_else(event_not_found)
}

/// `GET /v1/admin/events/{id}`: the event, its delivery and every attempt.
#[utoipa::path(get, path = "/v1/admin/events/{id}", tag = "events", operation_id = "get_event",
    security(("admin_token" = [])),
    params(("id" = String, Path, description = "The event's id (evt_...)")),
    responses((status = 200, description = "The event and its attempts", body = EventDetail),
        (status = 404, description = "No such event (EVENT_NOT_FOUND)", body = ErrorBody),
        BadInput, AdminAuth, Storage))]
pub(super) async fn get(
    admin: Admin,
    state: web::Data<AppState>,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    if !ids::plausible_id(&id) {
        return Err(event_not_found());
    }
    let event = seen_by(&admin, state.store.event(&id).await?)?;
    let attempts: Vec<AttemptView> = state
        .store
        .event_attempts(&event.id)
        .await?
        .into_iter()
        .map(AttemptView::of)
        .collect();
    Ok(HttpResponse::Ok().json(EventDetail {
        event: EventView::of(&event),
        attempts,
    }))
}

/// `POST /v1/admin/events/{id}/redeliver`: owed again, now, from the schedule's start.
#[utoipa::path(post, path = "/v1/admin/events/{id}/redeliver", tag = "events",
    operation_id = "redeliver_event",
    security(("admin_token" = [])),
    params(("id" = String, Path, description = "The event's id (evt_...)")),
    responses((status = 202, description = "Scheduled for delivery now", body = Redelivered),
        (status = 404, description = "No such event (EVENT_NOT_FOUND)", body = ErrorBody),
        (status = 409, description = "No webhook endpoint is configured (WEBHOOKS_OFF)",
            body = ErrorBody),
        BadInput, AdminAuth, Storage))]
pub(super) async fn redeliver(
    admin: Admin,
    state: web::Data<AppState>,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    if !state.settings.webhooks.enabled() {
        return Err(ApiError::conflict(
            "WEBHOOKS_OFF",
            "no webhook endpoint is configured ([webhooks] url)",
        ));
    }
    if !ids::plausible_id(&id) {
        return Err(event_not_found());
    }
    if admin.mch_id.is_some() {
        seen_by(&admin, state.store.event(&id).await?)?;
    }
    if !state.store.redeliver_event(&id, now_ms()).await? {
        return Err(event_not_found());
    }
    let event = state.store.event(&id).await?.ok_or_else(event_not_found)?;
    Ok(HttpResponse::Accepted().json(Redelivered {
        event: EventView::of(&event),
    }))
}
