//! Account-takeover scenarios against many accounts or from odd places: password spraying (SSH,
//! app, console), credential stuffing (app, gateway, console) and app logins from a new country.

use std::collections::BTreeSet;

use rand::Rng;

use super::applog::{AppEvent, GwEvent};
use super::attacks::Planner;
use super::authlog::*;
use super::clock::{MIN, SEC};
use super::cloud_catalog::console_login;
use super::cloudtrail::Who;
use super::engine::Scenario;
use super::names::{ATTACK_HTTP_UAS, BROWSERS};
use super::population::{DOMAIN, personal_email};
use super::util::{pick, scaled, weighted};

impl Planner<'_> {
    /// Account names an attacker guesses for a company: real people's and plausible ones.
    fn guessed_accounts(&mut self, n: u32, email: bool) -> Vec<(String, bool)> {
        let pop = self.pop;
        let mut out: Vec<(String, bool)> = Vec::new();
        let mut tries = 0;
        while out.len() < n as usize && tries < n * 20 {
            tries += 1;
            let rng = &mut self.rng;
            let (name, real) = if rng.random_bool(0.45) {
                let e = pick(rng, &pop.employees);
                (
                    if email {
                        e.email.clone()
                    } else {
                        e.user.clone()
                    },
                    true,
                )
            } else if email {
                let f = pick(rng, super::names::FIRST_NAMES).to_ascii_lowercase();
                let l = pick(rng, super::names::LAST_NAMES).to_ascii_lowercase();
                let e = format!("{f}.{l}@{DOMAIN}");
                let real = pop.employees.iter().any(|x| x.email == e);
                (e, real)
            } else {
                let u = pick(
                    rng,
                    &[
                        "hr",
                        "finance",
                        "it",
                        "helpdesk",
                        "sales",
                        "marketing",
                        "backup",
                        "admin",
                        "test",
                        "support",
                        "info",
                        "office",
                    ],
                );
                (u.to_string(), false)
            };
            let real = real && (email || pop.employees.iter().any(|e| e.user == name && e.ssh));
            if !out.iter().any(|(x, _)| *x == name) {
                out.push((name, real));
            }
        }
        out
    }

    pub(crate) fn spraying(&mut self, inst: u32) -> &'static str {
        let variant = ["ssh", "app", "console"][self.variant(Scenario::PasswordSpraying, inst, 3)];
        let accounts = scaled(&mut self.rng, 15, 60, self.k, 8);
        let pool = if self.rng.random_bool(0.6) {
            1
        } else {
            self.rng.random_range(2..=4)
        };
        let rounds = if self.rng.random_bool(0.7) { 1 } else { 2 };
        let gap_mean = self.rng.random_range(20..360) * SEC;
        let dur = gap_mean * i64::from(accounts * rounds);
        let t0 = self.when(dur);
        self.open(Scenario::PasswordSpraying, inst, t0);
        let ips: Vec<String> = (0..pool).map(|_| self.attacker_ip()).collect();
        let names = self.guessed_accounts(accounts, variant == "app");
        let host = self.rng.random_range(0..2usize);
        let ua = if self.rng.random_bool(0.5) {
            pick(&mut self.rng, BROWSERS).to_string()
        } else {
            pick(&mut self.rng, ATTACK_HTTP_UAS).to_string()
        };
        let country = self.country();
        let mut at = t0;
        let lucky = if self.rng.random_bool(0.2) {
            names.iter().position(|n| n.1)
        } else {
            None
        };
        for round in 0..rounds {
            for (i, (name, real)) in names.iter().enumerate() {
                at += self.rng.random_range(gap_mean / 2..=gap_mean * 3 / 2);
                let ip = pick(&mut self.rng, &ips).clone();
                match variant {
                    "ssh" => {
                        let rng = &mut self.rng;
                        let pid = pid_at(host, at, rng);
                        let p = port(rng);
                        let invalid = !real;
                        if invalid {
                            self.auth(
                                host,
                                at,
                                AuthLine::new(Prog::Sshd, pid, invalid_user(name, &ip, p)),
                                &ip,
                            );
                        }
                        let t1 = at + self.rng.random_range(300..2000);
                        self.auth(
                            host,
                            t1,
                            AuthLine::new(
                                Prog::Sshd,
                                pid,
                                pam_sshd_failure(&ip, (!invalid).then_some(name.as_str())),
                            ),
                            &ip,
                        );
                        let t2 = t1 + self.rng.random_range(1500..2600);
                        self.auth(
                            host,
                            t2,
                            AuthLine::new(Prog::Sshd, pid, failed_password(name, invalid, &ip, p)),
                            &ip,
                        );
                        let t3 = t2 + self.rng.random_range(100..1500);
                        self.auth(
                            host,
                            t3,
                            AuthLine::new(Prog::Sshd, pid, closed_preauth(name, invalid, &ip, p)),
                            &ip,
                        );
                    }
                    "app" => {
                        let ok = round == 0 && lucky == Some(i);
                        let ev = AppEvent {
                            ip: ip.clone(),
                            user: name.clone(),
                            action: "login",
                            resource: "/api/v1/auth/login".into(),
                            status: if ok { "success" } else { "failed" },
                            ua: ua.clone(),
                            session: if ok { self.rng.random() } else { 0 },
                            bytes: if ok { 412 } else { 87 },
                            country,
                        };
                        self.app(at, ev, &ip);
                    }
                    _ => {
                        let who = if *real || self.rng.random_bool(0.5) {
                            let idx = self.rng.random_range(0..self.pop.iam_users.len());
                            Who::UserLogin { idx }
                        } else {
                            Who::Hidden
                        };
                        let ev = console_login(self.pop, who, &ip, &ua, false, false);
                        self.ct(at, ev, &ip);
                    }
                }
            }
        }
        variant
    }

    pub(crate) fn stuffing(&mut self, inst: u32) -> &'static str {
        let pop = self.pop;
        let variant = ["app", "gateway", "app", "console"]
            [self.variant(Scenario::CredentialStuffing, inst, 4)];
        let n = if variant == "console" {
            scaled(&mut self.rng, 30, 150, self.k, 12)
        } else {
            scaled(&mut self.rng, 80, 600, self.k, 25)
        };
        let gap = self.rng.random_range(300..4000);
        let t0 = self.when(gap * i64::from(n) * 2);
        self.open(Scenario::CredentialStuffing, inst, t0);
        let ips: Vec<String> = (0..self.rng.random_range(1..=3))
            .map(|_| self.attacker_ip())
            .collect();
        let rotate_ua = self.rng.random_bool(0.4);
        let base_ua = pick(&mut self.rng, ATTACK_HTTP_UAS).to_string();
        let country = self.country();
        let successes = self.rng.random_range(1..=4u32);
        let mut won = 0;
        let mut at = t0;
        let mut seen = BTreeSet::new();
        for _ in 0..n {
            at += self.rng.random_range(gap / 3..=gap * 5 / 3);
            let ip = pick(&mut self.rng, &ips).clone();
            let ua = if rotate_ua {
                pick(&mut self.rng, BROWSERS).to_string()
            } else {
                base_ua.clone()
            };
            let rng = &mut self.rng;
            let (email, real) = match weighted(rng, &[70.0, 22.0, 8.0]) {
                0 => (personal_email(rng), false),
                1 => (pick(rng, &pop.customers).email.clone(), true),
                _ => (pick(rng, &pop.employees).email.clone(), true),
            };
            if !seen.insert(email.clone()) && rng.random_bool(0.8) {
                continue;
            }
            let real = real || pop.customers.iter().any(|c| c.email == email);
            let ok = real && won < successes && rng.random_bool(0.08);
            won += u32::from(ok);
            match variant {
                "console" => {
                    let who = if self.rng.random_bool(0.8) {
                        Who::Hidden
                    } else {
                        Who::UserLogin {
                            idx: self.rng.random_range(0..pop.iam_users.len()),
                        }
                    };
                    let ev = console_login(pop, who, &ip, &ua, false, false);
                    self.ct(at, ev, &ip);
                }
                "gateway" => {
                    let name = email.split('@').next().unwrap_or("").to_string();
                    let ev = GwEvent {
                        ip: ip.clone(),
                        user: Some((name, email.clone())),
                        action: "user-login",
                        method: "POST",
                        path: "/api/v1/auth/login".into(),
                        status: if ok { 200 } else { 401 },
                        bytes: if ok { 412 } else { 87 },
                        ua: ua.clone(),
                        country,
                        duration_us: self.rng.random_range(40_000..200_000),
                    };
                    self.gw(at, ev, &ip);
                }
                _ => {
                    let sid: u64 = if ok { self.rng.random() } else { 0 };
                    let mk = |action, resource: &str, status, bytes| AppEvent {
                        ip: ip.clone(),
                        user: email.clone(),
                        action,
                        resource: resource.to_string(),
                        status,
                        ua: ua.clone(),
                        session: sid,
                        bytes,
                        country,
                    };
                    self.app(
                        at,
                        mk(
                            "login",
                            "/api/v1/auth/login",
                            if ok { "success" } else { "failed" },
                            if ok { 412 } else { 87 },
                        ),
                        &ip,
                    );
                    if ok {
                        for path in [
                            "/api/v1/users/me",
                            "/api/v1/orders",
                            "/api/v1/payment-methods",
                        ] {
                            at += self.rng.random_range(500..8000);
                            let bytes = self.rng.random_range(300..9000);
                            self.app(at, mk("api_call", path, "success", bytes), &ip);
                        }
                    }
                }
            }
        }
        variant
    }

    pub(crate) fn app_new_location(&mut self, inst: u32) -> &'static str {
        let pop = self.pop;
        let t0 = self.when(30 * MIN);
        self.open(Scenario::SuspiciousLogin, inst, t0);
        let e =
            &pop.employees[(inst as usize * 7 + self.rng.random_range(0..5)) % pop.employees.len()];
        let ip = self.attacker_ip();
        let country = loop {
            let c = self.country();
            if c != "US" {
                break c;
            }
        };
        let ua = pick(&mut self.rng, BROWSERS).to_string();
        let sid: u64 = self.rng.random();
        let mk = |action, resource: &str, status, session, bytes| AppEvent {
            ip: ip.clone(),
            user: e.email.clone(),
            action,
            resource: resource.to_string(),
            status,
            ua: ua.clone(),
            session,
            bytes,
            country,
        };
        let mut at = t0;
        for _ in 0..self.rng.random_range(1..=4) {
            self.app(
                at,
                mk("login", "/api/v1/auth/login", "failed", 0, 87),
                &e.email,
            );
            at += self.rng.random_range(5..60) * SEC;
        }
        self.app(
            at,
            mk("login", "/api/v1/auth/login", "success", sid, 412),
            &e.email,
        );
        at += self.rng.random_range(5..30) * SEC;
        self.app(
            at,
            mk("mfa_challenge", "/api/v1/auth/mfa", "success", sid, 96),
            &e.email,
        );
        for _ in 0..self.rng.random_range(1..=5) {
            at += self.rng.random_range(5..120) * SEC;
            let path = pick(
                &mut self.rng,
                &[
                    "/api/v1/customers",
                    "/api/v1/reports/monthly",
                    "/files/shared/finance/Q1-report.xlsx",
                    "/api/v1/invoices",
                ],
            )
            .to_string();
            let action = if path.starts_with("/files") {
                "file_access"
            } else {
                "api_call"
            };
            let bytes = self.rng.random_range(2_000..400_000);
            self.app(at, mk(action, &path, "success", sid, bytes), &e.email);
        }
        "app_new_country"
    }
}
