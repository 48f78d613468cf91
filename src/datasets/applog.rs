//! JSON-lines application logs: `app-events.jsonl` in the seed schema and `gateway-ecs.jsonl` with
//! ECS-style nested fields; event types and writers.

use std::path::Path;

use anyhow::Result;

use super::clock::put_iso_millis;
use super::engine::{Sink, StreamOutput, Tag};
use super::linefile::LineFile;
use super::util::{Put, Rng8};

/// One seed-schema application event.
#[derive(Debug, Clone)]
pub(crate) struct AppEvent {
    pub ip: String,
    pub user: String,
    pub action: &'static str,
    pub resource: String,
    pub status: &'static str,
    pub ua: String,
    /// 0 = no session (failed logins).
    pub session: u64,
    pub bytes: u32,
    pub country: &'static str,
}

/// One API-gateway access/authentication event (ECS field names).
#[derive(Debug, Clone)]
pub(crate) struct GwEvent {
    pub ip: String,
    /// (user.name, user.email), absent for anonymous requests.
    pub user: Option<(String, String)>,
    /// `http-request`, `user-login` or `user-logout`.
    pub action: &'static str,
    pub method: &'static str,
    pub path: String,
    pub status: u16,
    pub bytes: u32,
    pub ua: String,
    pub country: &'static str,
    pub duration_us: u32,
}

pub(crate) struct AppSink(LineFile);

impl AppSink {
    pub fn create(out: &Path, rel: &str) -> Result<Self> {
        Ok(AppSink(LineFile::create(out, rel)?))
    }
    pub fn finish(self) -> Result<StreamOutput> {
        self.0.finish(0)
    }
}

impl Sink for AppSink {
    type Ev = AppEvent;

    fn write(&mut self, _rng: &mut Rng8, t: i64, ev: &AppEvent, tag: Option<&Tag>) -> Result<()> {
        let b = &mut self.0.buf;
        b.s("{\"timestamp\":\"");
        put_iso_millis(b, t);
        b.s("\",\"source_ip\":");
        b.js(&ev.ip);
        b.s(",\"user_id\":");
        b.js(&ev.user);
        b.s(",\"action\":\"");
        b.s(ev.action);
        b.s("\",\"resource\":");
        b.js(&ev.resource);
        b.s(",\"status\":\"");
        b.s(ev.status);
        b.s("\",\"metadata\":{\"user_agent\":");
        b.js(&ev.ua);
        b.s(",\"session_id\":");
        if ev.session == 0 {
            b.s("null");
        } else {
            b.s("\"");
            b.s(&format!("{:016x}", ev.session));
            b.s("\"");
        }
        b.s(",\"bytes\":");
        b.u(ev.bytes.into());
        b.s(",\"country\":\"");
        b.s(ev.country);
        b.s("\"}}\n");
        self.0.emit(tag)
    }
}

pub(crate) struct GwSink(LineFile);

impl GwSink {
    pub fn create(out: &Path, rel: &str) -> Result<Self> {
        Ok(GwSink(LineFile::create(out, rel)?))
    }
    pub fn finish(self) -> Result<StreamOutput> {
        self.0.finish(0)
    }
}

impl Sink for GwSink {
    type Ev = GwEvent;

    fn write(&mut self, _rng: &mut Rng8, t: i64, ev: &GwEvent, tag: Option<&Tag>) -> Result<()> {
        let b = &mut self.0.buf;
        let auth = ev.action != "http-request";
        let ok = ev.status < 400;
        b.s("{\"@timestamp\":\"");
        put_iso_millis(b, t);
        b.s("\",\"event\":{\"action\":\"");
        b.s(ev.action);
        b.s("\",\"category\":\"");
        b.s(if auth { "authentication" } else { "web" });
        b.s("\",\"outcome\":\"");
        b.s(if ok { "success" } else { "failure" });
        b.s("\",\"duration\":");
        b.u(u64::from(ev.duration_us) * 1000);
        b.s("},\"source\":{\"ip\":");
        b.js(&ev.ip);
        b.s(",\"geo\":{\"country_iso_code\":\"");
        b.s(ev.country);
        b.s("\"}}");
        if let Some((name, email)) = &ev.user {
            b.s(",\"user\":{\"name\":");
            b.js(name);
            b.s(",\"email\":");
            b.js(email);
            b.s("}");
        }
        b.s(",\"http\":{\"request\":{\"method\":\"");
        b.s(ev.method);
        b.s("\"},\"response\":{\"status_code\":");
        b.u(ev.status.into());
        b.s(",\"body\":{\"bytes\":");
        b.u(ev.bytes.into());
        b.s("}}},\"url\":{\"path\":");
        b.js(&ev.path);
        b.s("},\"user_agent\":{\"original\":");
        b.js(&ev.ua);
        b.s("}}\n");
        self.0.emit(tag)
    }
}
