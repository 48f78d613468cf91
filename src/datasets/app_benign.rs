//! Benign application traffic: employee and customer sessions (login, MFA, API calls, file access,
//! logout, the odd typo or password reset), service accounts, and anonymous gateway requests.

use rand::Rng;

use super::applog::{AppEvent, GwEvent};
use super::clock::{MIN, SEC};
use super::engine::{Generator, Queue};
use super::names::{ADMIN_PATHS, APP_PATHS, FILE_PATHS};
use super::population::{DOMAIN, Population, ip4};
use super::util::{Rng8, exp_ms, pick};

/// Who is using the application in a session.
pub(crate) struct Actor {
    pub user: String,
    pub short: String,
    pub email: String,
    pub ip: String,
    pub ua: String,
    pub country: &'static str,
    pub employee: bool,
    pub admin: bool,
}

pub(crate) fn actor(pop: &Population, rng: &mut Rng8) -> Actor {
    if rng.random_bool(0.55) {
        let e = pick(rng, &pop.employees);
        let ip = pop.employee_ip(rng, e);
        let country = if ip == e.home_ip { e.country } else { "US" };
        Actor {
            user: if rng.random_bool(0.85) {
                e.email.clone()
            } else {
                e.user.clone()
            },
            short: e.user.clone(),
            email: e.email.clone(),
            ip,
            ua: e.browser.to_string(),
            country,
            employee: true,
            admin: e.admin,
        }
    } else {
        let c = pick(rng, &pop.customers);
        Actor {
            user: c.email.clone(),
            short: c.email.split('@').next().unwrap_or("").to_string(),
            email: c.email.clone(),
            ip: c.ip.clone(),
            ua: c.browser.to_string(),
            country: c.country,
            employee: false,
            admin: false,
        }
    }
}

pub(crate) fn api_path(rng: &mut Rng8, a: &Actor) -> (&'static str, String) {
    if a.employee && rng.random_bool(0.2) {
        ("file_access", pick(rng, FILE_PATHS).replace("{}", &a.short))
    } else {
        (
            "api_call",
            pick(rng, APP_PATHS).replace("{}", &rng.random_range(1000..99_999u32).to_string()),
        )
    }
}

pub(crate) struct AppGen<'p> {
    pop: &'p Population,
}

impl<'p> AppGen<'p> {
    pub fn new(pop: &'p Population) -> Self {
        AppGen { pop }
    }

    fn ev(
        a: &Actor,
        action: &'static str,
        resource: String,
        status: &'static str,
        session: u64,
        bytes: u32,
    ) -> AppEvent {
        AppEvent {
            ip: a.ip.clone(),
            user: a.user.clone(),
            action,
            resource,
            status,
            ua: a.ua.clone(),
            session,
            bytes,
            country: a.country,
        }
    }

    fn session(&self, rng: &mut Rng8, t: i64, q: &mut Queue<AppEvent>) {
        let a = actor(self.pop, rng);
        let sid: u64 = rng.random();
        let mut at = t;
        if rng.random_bool(0.015) {
            q.push(
                at,
                Self::ev(
                    &a,
                    "password_reset",
                    "/api/v1/auth/password-reset".into(),
                    "success",
                    0,
                    212,
                ),
            );
            at += rng.random_range(1..6) * MIN;
        } else if rng.random_bool(0.05) {
            q.push(
                at,
                Self::ev(&a, "login", "/api/v1/auth/login".into(), "failed", 0, 87),
            );
            at += rng.random_range(4..40) * SEC;
        }
        q.push(
            at,
            Self::ev(
                &a,
                "login",
                "/api/v1/auth/login".into(),
                "success",
                sid,
                412,
            ),
        );
        if a.employee && rng.random_bool(0.7) {
            at += rng.random_range(4..25) * SEC;
            let ok = rng.random_bool(0.98);
            q.push(
                at,
                Self::ev(
                    &a,
                    "mfa_challenge",
                    "/api/v1/auth/mfa".into(),
                    if ok { "success" } else { "failed" },
                    sid,
                    96,
                ),
            );
            if !ok {
                at += rng.random_range(10..40) * SEC;
                q.push(
                    at,
                    Self::ev(
                        &a,
                        "mfa_challenge",
                        "/api/v1/auth/mfa".into(),
                        "success",
                        sid,
                        96,
                    ),
                );
            }
        }
        for _ in 0..rng.random_range(2..=14) {
            at += exp_ms(rng, 2.0 * MIN as f64) + 300;
            let (action, path) = api_path(rng, &a);
            q.push(
                at,
                Self::ev(
                    &a,
                    action,
                    path,
                    "success",
                    sid,
                    rng.random_range(200..180_000),
                ),
            );
        }
        if a.employee && !a.admin && rng.random_bool(0.03) {
            at += rng.random_range(5..90) * SEC;
            q.push(
                at,
                Self::ev(
                    &a,
                    "api_call",
                    pick(rng, ADMIN_PATHS).to_string(),
                    "denied",
                    sid,
                    64,
                ),
            );
        }
        if rng.random_bool(0.6) {
            at += exp_ms(rng, 5.0 * MIN as f64);
            q.push(
                at,
                Self::ev(
                    &a,
                    "logout",
                    "/api/v1/auth/logout".into(),
                    "success",
                    sid,
                    32,
                ),
            );
        }
    }

    fn service(&self, rng: &mut Rng8, t: i64, small: bool, q: &mut Queue<AppEvent>) {
        let (user, ua) = *pick(
            rng,
            &[
                ("svc-etl", "python-requests/2.31.0"),
                ("svc-reporting", "python-requests/2.31.0"),
                ("svc-billing", "Go-http-client/2.0"),
                ("svc-monitoring", "Datadog Agent/7.52.0"),
            ],
        );
        let a = Actor {
            user: format!("{user}@{DOMAIN}"),
            short: user.to_string(),
            email: String::new(),
            ip: pick(rng, &self.pop.internal_ips).clone(),
            ua: ua.to_string(),
            country: "US",
            employee: false,
            admin: false,
        };
        let sid = (t as u64) ^ 0x5eed_0000_0000_0000 ^ user.len() as u64;
        let n = if small { 1 } else { rng.random_range(1..=5) };
        for i in 0..n {
            let action = if i == 0 && rng.random_bool(0.2) {
                "token_refresh"
            } else {
                "api_call"
            };
            let path = if action == "token_refresh" {
                "/api/v1/auth/token".to_string()
            } else {
                pick(rng, APP_PATHS).replace("{}", &rng.random_range(1000..99_999u32).to_string())
            };
            q.push(
                t + i * rng.random_range(20..900),
                Self::ev(
                    &a,
                    action,
                    path,
                    "success",
                    sid,
                    rng.random_range(100..60_000),
                ),
            );
        }
    }
}

impl Generator for AppGen<'_> {
    type Ev = AppEvent;
    fn human_share(&self) -> f64 {
        0.7
    }
    fn mean_events(&self) -> f64 {
        6.0
    }
    fn trigger(
        &mut self,
        rng: &mut Rng8,
        t: i64,
        human: bool,
        small: bool,
        q: &mut Queue<AppEvent>,
    ) {
        if human && !small {
            self.session(rng, t, q)
        } else {
            self.service(rng, t, small, q)
        }
    }
}

pub(crate) struct GwGen<'p> {
    pop: &'p Population,
}

impl<'p> GwGen<'p> {
    pub fn new(pop: &'p Population) -> Self {
        GwGen { pop }
    }

    fn session(&self, rng: &mut Rng8, t: i64, q: &mut Queue<GwEvent>) {
        let a = actor(self.pop, rng);
        let user = Some((a.short.clone(), a.email.clone()));
        let ev = |action, method, path: String, status, bytes, dur| GwEvent {
            ip: a.ip.clone(),
            user: user.clone(),
            action,
            method,
            path,
            status,
            bytes,
            ua: a.ua.clone(),
            country: a.country,
            duration_us: dur,
        };
        let mut at = t;
        if rng.random_bool(0.05) {
            q.push(
                at,
                ev(
                    "user-login",
                    "POST",
                    "/api/v1/auth/login".into(),
                    401,
                    87,
                    rng.random_range(40_000..180_000),
                ),
            );
            at += rng.random_range(4..40) * SEC;
        }
        q.push(
            at,
            ev(
                "user-login",
                "POST",
                "/api/v1/auth/login".into(),
                200,
                412,
                rng.random_range(60_000..250_000),
            ),
        );
        for _ in 0..rng.random_range(2..=16) {
            at += exp_ms(rng, 90.0 * SEC as f64) + 200;
            let (_, path) = api_path(rng, &a);
            let method = *pick(rng, &["GET", "GET", "GET", "GET", "POST", "PUT", "DELETE"]);
            let status = *pick(rng, &[200u16, 200, 200, 200, 200, 200, 201, 204, 304, 404]);
            q.push(
                at,
                ev(
                    "http-request",
                    method,
                    path,
                    status,
                    rng.random_range(0..120_000),
                    rng.random_range(3_000..400_000),
                ),
            );
        }
        if rng.random_bool(0.5) {
            at += exp_ms(rng, 3.0 * MIN as f64);
            q.push(
                at,
                ev(
                    "user-logout",
                    "POST",
                    "/api/v1/auth/logout".into(),
                    204,
                    0,
                    rng.random_range(2_000..20_000),
                ),
            );
        }
    }

    fn anonymous(&self, rng: &mut Rng8, t: i64, small: bool, q: &mut Queue<GwEvent>) {
        let kind = if small { 0 } else { rng.random_range(0..10u8) };
        let (ip, ua, path, status, country): (String, String, String, u16, &'static str) =
            match kind {
                0..=3 => (
                    pick(rng, &self.pop.internal_ips).clone(),
                    "kube-probe/1.29".into(),
                    "/healthz".into(),
                    200,
                    "US",
                ),
                4..=6 => {
                    let c = pick(rng, &self.pop.customers);
                    let asset = pick(
                        rng,
                        &[
                            "/static/js/app.3f9a1c.js",
                            "/static/css/main.css",
                            "/favicon.ico",
                            "/static/img/logo.svg",
                        ],
                    );
                    (
                        c.ip.clone(),
                        c.browser.to_string(),
                        asset.to_string(),
                        *pick(rng, &[200u16, 200, 304]),
                        c.country,
                    )
                }
                7 => (
                    ip4(66, rng),
                    "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)"
                        .into(),
                    "/robots.txt".into(),
                    200,
                    "US",
                ),
                _ => {
                    // Opportunistic web scanners: noise, not one of the scenarios.
                    let path = pick(
                        rng,
                        &[
                            "/wp-login.php",
                            "/.env",
                            "/admin/config.php",
                            "/vendor/phpunit/phpunit/src/Util/PHP/eval-stdin.php",
                            "/.git/config",
                            "/cgi-bin/luci",
                        ],
                    );
                    (
                        ip4(*pick(rng, &[45u8, 185, 193, 89, 104]), rng),
                        "Mozilla/5.0 zgrab/0.x".into(),
                        path.to_string(),
                        404,
                        *pick(rng, &["NL", "US", "DE", "RU", "CN"]),
                    )
                }
            };
        q.push(
            t,
            GwEvent {
                ip,
                user: None,
                action: "http-request",
                method: "GET",
                path,
                status,
                bytes: rng.random_range(0..40_000),
                ua,
                country,
                duration_us: rng.random_range(300..30_000),
            },
        );
    }
}

impl Generator for GwGen<'_> {
    type Ev = GwEvent;
    fn human_share(&self) -> f64 {
        0.55
    }
    fn mean_events(&self) -> f64 {
        5.0
    }
    fn trigger(
        &mut self,
        rng: &mut Rng8,
        t: i64,
        human: bool,
        small: bool,
        q: &mut Queue<GwEvent>,
    ) {
        if human && !small {
            self.session(rng, t, q)
        } else {
            self.anonymous(rng, t, small, q)
        }
    }
}
