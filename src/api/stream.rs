//! `GET /api/v1/stream`: the pipeline's events as Server-Sent Events, for attached consoles
//! (and `curl -N`). First a `hello` with the owner's engine status, then (unless
//! `?replay=false`) the events that rebuild the current picture, then live events. A client
//! too slow to keep up is resynchronised: a `resync` notice, a fresh replay, then live again.

use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::{Query, State};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use futures::StreamExt;
use futures::stream;
use serde::Deserialize;
use serde_json::json;
use tokio::sync::broadcast::error::RecvError;

use super::ApiState;
use super::hub::{Hub, Subscription};
use crate::pipeline::{Level, PipelineEvent};

#[derive(Deserialize)]
pub struct StreamQuery {
    /// Send the current picture first (default true); `false` for live events only.
    replay: Option<bool>,
}

/// The SSE event name of pipeline events (the `hello` carries the owner's status).
pub const EVENT: &str = "pipeline";
pub const HELLO: &str = "hello";

pub async fn stream(State(s): State<Arc<ApiState>>, Query(q): Query<StreamQuery>) -> Response {
    let replay = q.replay.unwrap_or(true);
    let Subscription {
        status,
        replay: picture,
        live,
    } = s.hub.subscribe();
    let hello = Event::default()
        .event(HELLO)
        .json_data(json!({ "status": status, "owner": s.owner }))
        .unwrap_or_default();
    let first: Vec<Event> = std::iter::once(hello)
        .chain(picture.iter().filter(|_| replay).map(sse))
        .collect();
    let hub = s.hub.clone();
    let live = stream::unfold(
        (live, hub),
        move |(mut rx, hub): (_, Arc<Hub>)| async move {
            tokio::select! {
                _ = hub.closing() => None,
                got = rx.recv() => match got {
                    Ok(ev) => Some((vec![sse(&ev)], (rx, hub))),
                    Err(RecvError::Lagged(missed)) => {
                        // Start over from a consistent picture rather than patch holes.
                        let again = hub.subscribe();
                        let mut out = vec![sse(&PipelineEvent::Notice {
                            level: Level::Warn,
                            text: format!("resync: this client fell {missed} events behind; the picture was sent again"),
                        })];
                        out.extend(again.replay.iter().map(sse));
                        Some((out, (again.live, hub)))
                    }
                    Err(RecvError::Closed) => None,
                },
            }
        },
    )
    .flat_map(stream::iter);
    let events = stream::iter(first).chain(live).map(Ok::<_, Infallible>);
    Sse::new(events)
        .keep_alive(KeepAlive::new().interval(Duration::from_secs(15)))
        .into_response()
}

fn sse(ev: &PipelineEvent) -> Event {
    Event::default()
        .event(EVENT)
        .json_data(ev)
        .unwrap_or_else(|e| Event::default().comment(format!("unencodable event: {e}")))
}
