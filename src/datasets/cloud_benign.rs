//! Benign CloudTrail background for one region: services and bots around the clock, people
//! during working hours (console sessions, CLI work, occasional IAM changes and AccessDenied).

use rand::Rng;

use super::clock::{MIN, SEC};
use super::cloud_catalog::{
    GLOBAL_READS, REGIONAL_READS, console_login, read_req, s3_object, session_start,
};
use super::cloudtrail::{CtEvent, Who, denied};
use super::engine::{Generator, Queue};
use super::population::{Population, ROLE_ADMIN, ROLE_DEV};
use super::util::{Rng8, exp_ms, hex, kebab, pick, weighted};

pub(crate) const HOME: &str = "us-east-1";
/// The regions the account is active in (one CloudTrail stream each; home first).
pub(crate) const REGIONS: [&str; 3] = [HOME, "eu-west-1", "us-west-2"];

pub(crate) struct CtGen<'p> {
    pub pop: &'p Population,
    pub region: &'static str,
    pub(crate) home: bool,
    pub(crate) buckets: Vec<usize>,
    humans: Vec<usize>,
    admins: Vec<usize>,
    pub(crate) ci_ua: String,
}

type Q = Queue<CtEvent>;

impl<'p> CtGen<'p> {
    pub fn new(pop: &'p Population, region: &'static str) -> Self {
        let buckets = (0..pop.buckets.len())
            .filter(|&i| {
                pop.buckets[i].region == region && !pop.buckets[i].name.ends_with("cloudtrail-logs")
            })
            .collect();
        let humans = (0..pop.iam_users.len())
            .filter(|&i| pop.iam_users[i].employee.is_some())
            .collect();
        let admins = (0..pop.iam_users.len())
            .filter(|&i| pop.iam_users[i].admin)
            .collect();
        CtGen {
            pop,
            region,
            home: region == HOME,
            buckets,
            humans,
            admins,
            ci_ua: "aws-cli/2.15.42 Python/3.11.8 Linux/6.5.0-1021-azure exe/x86_64.ubuntu.22 prompt/off".into(),
        }
    }

    pub(crate) fn role(&self, rng: &mut Rng8, idx: usize, t: i64) -> Who {
        let n = self.pop.roles[idx].sessions.len().max(1);
        Who::Role {
            idx,
            session: rng.random_range(0..n),
            start: session_start(t),
        }
    }

    pub(crate) fn object_key(&self, rng: &mut Rng8, bucket: usize) -> String {
        let b = &self.pop.buckets[bucket];
        let prefix = pick(rng, b.prefixes);
        let ext = pick(rng, &["json", "csv", "parquet", "gz", "pdf", "png"]);
        format!(
            "{prefix}{}/{}-{:05}.{ext}",
            rng.random_range(1..=28u8),
            hex(rng, 8),
            rng.random_range(0..50_000u32)
        )
    }

    pub(crate) fn s3_op(&self, rng: &mut Rng8, who: Who, ip: &str, ua: &str) -> CtEvent {
        let Some(&b) = self.buckets.first() else {
            return self.describe(rng, who, ip, ua);
        };
        let b = if self.buckets.len() > 1 {
            *pick(rng, &self.buckets)
        } else {
            b
        };
        let name = *pick(
            rng,
            &[
                "GetObject",
                "GetObject",
                "GetObject",
                "PutObject",
                "PutObject",
                "HeadObject",
            ],
        );
        let key = self.object_key(rng, b);
        let bytes = if name == "HeadObject" {
            0
        } else {
            rng.random_range(300..4_000_000)
        };
        s3_object(
            self.pop,
            who,
            name,
            &self.pop.buckets[b].name,
            self.region,
            &key,
            ip,
            ua,
            bytes,
        )
    }

    pub(crate) fn describe(&self, rng: &mut Rng8, who: Who, ip: &str, ua: &str) -> CtEvent {
        let (src, name) = *pick(rng, &REGIONAL_READS[..10]);
        let user = self.user_name(&who);
        CtEvent::api(who, src, name, self.region, ip, ua).req_opt(read_req(
            self.pop,
            rng,
            self.region,
            name,
            &user,
        ))
    }

    fn user_name(&self, who: &Who) -> String {
        match who {
            Who::User { idx, .. } | Who::UserLogin { idx } => self.pop.iam_users[*idx].name.clone(),
            _ => "svc-reporting".into(),
        }
    }

    /// One read from the region's catalogue (plus the global one at home).
    pub(crate) fn any_read(&self, rng: &mut Rng8, who: Who, ip: &str, ua: &str) -> CtEvent {
        let (src, name) = if self.home && rng.random_bool(0.4) {
            *pick(rng, GLOBAL_READS)
        } else {
            *pick(rng, REGIONAL_READS)
        };
        let user = self.user_name(&who);
        CtEvent::api(who, src, name, self.region, ip, ua).req_opt(read_req(
            self.pop,
            rng,
            self.region,
            name,
            &user,
        ))
    }

    pub(crate) fn cli_ua(&self, idx: usize, source: &str, name: &str) -> String {
        let base = &self.pop.iam_users[idx].cli_ua;
        if base.starts_with("aws-cli") {
            format!(
                "{base} command/{}.{}",
                source.split('.').next().unwrap_or(""),
                kebab(name)
            )
        } else {
            base.clone()
        }
    }

    fn human(&self, rng: &mut Rng8, t: i64, small: bool, q: &mut Q) {
        let w = [
            if self.home { 8.0 } else { 0.0 },
            10.0,
            if self.home { 0.15 } else { 0.0 },
            if self.home { 0.1 } else { 0.0 },
            2.0,
        ];
        match if small { 1 } else { weighted(rng, &w) } {
            0 => self.console_session(rng, t, q),
            1 => self.cli_session(rng, t, small, q),
            2 => super::cloud_admin::iam_change(self, rng, t, q),
            3 => super::cloud_admin::trail_admin(self, rng, t, q),
            _ => super::cloud_admin::ec2_ops(self, rng, t, q),
        }
    }

    pub(crate) fn pick_human(&self, rng: &mut Rng8, admin: bool) -> usize {
        if admin {
            *pick(rng, &self.admins)
        } else {
            *pick(rng, &self.humans)
        }
    }

    pub(crate) fn ip_of(&self, rng: &mut Rng8, idx: usize) -> String {
        match self.pop.iam_users[idx].employee {
            Some(e) => self.pop.employee_ip(rng, &self.pop.employees[e]),
            None => pick(rng, &self.pop.internal_ips).clone(),
        }
    }

    fn console_session(&self, rng: &mut Rng8, t: i64, q: &mut Q) {
        let pop = self.pop;
        let idx = self.pick_human(rng, false);
        let u = &pop.iam_users[idx];
        let ip = self.ip_of(rng, idx);
        let browser = u
            .employee
            .map_or(super::names::BROWSERS[0], |e| pop.employees[e].browser);
        let mut at = t;
        let as_root = u.admin && rng.random_bool(0.004);
        if as_root {
            q.push(
                at,
                console_login(pop, Who::Root { console: None }, &ip, browser, true, true),
            );
        } else {
            if rng.random_bool(0.04) {
                q.push(
                    at,
                    console_login(pop, Who::UserLogin { idx }, &ip, browser, false, false),
                );
                at += rng.random_range(8..45) * SEC;
            }
            q.push(
                at,
                console_login(pop, Who::UserLogin { idx }, &ip, browser, true, u.mfa),
            );
        }
        let start = at;
        let switch = !as_root && rng.random_bool(0.3);
        let who = if as_root {
            Who::Root {
                console: Some((start, true)),
            }
        } else if switch {
            let role = if u.admin { ROLE_ADMIN } else { ROLE_DEV };
            let sessions = &pop.roles[role].sessions;
            let session = sessions.iter().position(|s| *s == u.name).unwrap_or(0);
            Who::Role {
                idx: role,
                session,
                start,
            }
        } else {
            Who::User {
                idx,
                console: Some((start, u.mfa)),
            }
        };
        let ua = if rng.random_bool(0.75) {
            "console.amazonaws.com"
        } else {
            "AWS Internal"
        };
        for _ in 0..rng.random_range(2..=14) {
            at += exp_ms(rng, 2.5 * MIN as f64) + SEC;
            let mut ev = self.any_read(rng, who.clone(), &ip, ua);
            if ev.source == "iam.amazonaws.com" && !u.admin && rng.random_bool(0.3) {
                let (code, msg) = denied(pop, &ev.who, ev.source, ev.name);
                ev = ev.error(code, msg);
            }
            q.push(at, ev);
        }
    }

    fn cli_session(&self, rng: &mut Rng8, t: i64, small: bool, q: &mut Q) {
        let pop = self.pop;
        let idx = self.pick_human(rng, false);
        let u = &pop.iam_users[idx];
        let ip = self.ip_of(rng, idx);
        let who = Who::User { idx, console: None };
        let n = if small { 1 } else { rng.random_range(1..=8) };
        let mut at = t;
        for i in 0..n {
            let mut ev = if self.home && i == 0 && n > 2 {
                CtEvent::api(
                    who.clone(),
                    "sts.amazonaws.com",
                    "GetCallerIdentity",
                    self.region,
                    &ip,
                    "",
                )
            } else if rng.random_bool(0.3) && !self.buckets.is_empty() {
                self.s3_op(rng, who.clone(), &ip, "")
            } else {
                self.any_read(rng, who.clone(), &ip, "")
            };
            // Now and then a developer reaches for something they may not touch.
            if !u.admin && rng.random_bool(0.04) {
                ev = if self.home && rng.random_bool(0.5) {
                    CtEvent::api(
                        who.clone(),
                        "iam.amazonaws.com",
                        "ListUsers",
                        self.region,
                        &ip,
                        "",
                    )
                } else {
                    CtEvent::api(
                        who.clone(),
                        "secretsmanager.amazonaws.com",
                        "GetSecretValue",
                        self.region,
                        &ip,
                        "",
                    )
                    .req_opt(read_req(
                        pop,
                        rng,
                        self.region,
                        "GetSecretValue",
                        &u.name,
                    ))
                };
                let (code, msg) = denied(pop, &ev.who, ev.source, ev.name);
                ev = ev.error(code, msg);
            }
            ev.ua = if ev.source == "s3.amazonaws.com" && ev.data {
                self.cli_ua(idx, "s3", "Cp")
            } else {
                self.cli_ua(idx, ev.source, ev.name)
            };
            q.push(at, ev);
            at += rng.random_range(1..40) * SEC;
        }
    }
}

impl CtEvent {
    pub fn req_opt(mut self, json: Option<String>) -> Self {
        self.req = json;
        self
    }
}

impl Generator for CtGen<'_> {
    type Ev = CtEvent;

    fn human_share(&self) -> f64 {
        if self.home { 0.3 } else { 0.15 }
    }
    fn mean_events(&self) -> f64 {
        4.0
    }
    fn trigger(&mut self, rng: &mut Rng8, t: i64, human: bool, small: bool, q: &mut Q) {
        if human {
            self.human(rng, t, small, q)
        } else {
            self.machine(rng, t, small, q)
        }
    }
}
