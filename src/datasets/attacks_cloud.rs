//! Cloud attack scenarios in CloudTrail: privilege escalation through IAM, trail tampering and
//! suspicious console sign-ins, plus the helpers every cloud scenario uses (compromised
//! principals, attacker user agents, denied calls).

use rand::Rng;
use rand::seq::SliceRandom;

use super::attacks::Planner;
use super::clock::{MIN, SEC, iso_secs};
use super::cloud_benign::{HOME, REGIONS};
use super::cloud_catalog::{console_login, read_req, session_start};
use super::cloudtrail::{CtEvent, Who, denied, principal_arn};
use super::engine::Scenario;
use super::names::{ATTACK_AWS_UAS, BROWSERS};
use super::population::{ROLE_CI, ROLE_ETL, ROLE_LAMBDA};
use super::util::{Put, hex, pick, upper_alnum};

const ADMIN_POLICY: &str = "arn:aws:iam::aws:policy/AdministratorAccess";

impl Planner<'_> {
    /// A compromised principal not yet used by this scenario: a non-admin IAM user, or (with
    /// probability `role_p`) a stolen role session. Returns it and its label entity.
    pub(crate) fn principal(&mut self, sc: Scenario, t: i64, role_p: f64) -> (Who, String) {
        let pop = self.pop;
        let users: Vec<usize> = (0..pop.iam_users.len())
            .filter(|&i| !pop.iam_users[i].admin)
            .collect();
        let mut last = None;
        for _ in 0..64 {
            let (who, key) = if self.rng.random_bool(role_p) {
                let role = *pick(&mut self.rng, &[ROLE_ETL, ROLE_ETL, ROLE_LAMBDA, ROLE_CI]);
                let session = self
                    .rng
                    .random_range(0..pop.roles[role].sessions.len().max(1));
                (
                    Who::Role {
                        idx: role,
                        session,
                        start: session_start(t),
                    },
                    1000 + role * 100 + session,
                )
            } else {
                let idx = *pick(&mut self.rng, &users);
                (Who::User { idx, console: None }, idx)
            };
            let fresh = self.used.insert((sc, key));
            last = Some(who);
            if fresh {
                break;
            }
        }
        let who = last.unwrap_or(Who::User {
            idx: users[0],
            console: None,
        });
        let entity = match &who {
            Who::User { idx, .. } => pop.iam_users[*idx].name.clone(),
            other => principal_arn(pop, other),
        };
        (who, entity)
    }

    /// The attacker's AWS client: usually tooling, sometimes a copy of the victim's own agent.
    pub(crate) fn aws_ua(&mut self, who: &Who) -> String {
        match who {
            Who::User { idx, .. } if self.rng.random_bool(0.3) => {
                self.pop.iam_users[*idx].cli_ua.clone()
            }
            _ => pick(&mut self.rng, ATTACK_AWS_UAS).to_string(),
        }
    }

    pub(crate) fn call(
        &mut self,
        who: &Who,
        source: &'static str,
        name: &'static str,
        region: &'static str,
        ip: &str,
        ua: &str,
    ) -> CtEvent {
        let user = match who {
            Who::User { idx, .. } => self.pop.iam_users[*idx].name.clone(),
            // A stolen role session enumerating users names one.
            Who::Role { .. } => pick(&mut self.rng, &self.pop.iam_users).name.clone(),
            _ => String::new(),
        };
        let req = read_req(self.pop, &mut self.rng, region, name, &user);
        CtEvent::api(who.clone(), source, name, region, ip, ua).req_opt(req)
    }

    pub(crate) fn deny(&self, ev: CtEvent) -> CtEvent {
        let (code, msg) = denied(self.pop, &ev.who, ev.source, ev.name);
        ev.error(code, msg)
    }

    pub(crate) fn privesc_cloud(&mut self, inst: u32) -> &'static str {
        let pop = self.pop;
        let t0 = self.when(40 * MIN);
        self.open(Scenario::PrivilegeEscalation, inst, t0);
        let (who, entity) = self.principal(Scenario::PrivilegeEscalation, t0, 0.0);
        let Who::User { idx, .. } = who else {
            return "cloud";
        };
        let me = pop.iam_users[idx].name.clone();
        let ip = self.attacker_ip();
        let ua = self.aws_ua(&who);
        let iam = "iam.amazonaws.com";
        let mut at = t0;
        let ev = self.call(
            &who,
            "sts.amazonaws.com",
            "GetCallerIdentity",
            HOME,
            &ip,
            &ua,
        );
        self.ct(at, ev, &entity);
        for name in ["ListAttachedUserPolicies", "ListUserPolicies", "ListUsers"] {
            if self.rng.random_bool(0.6) {
                at += self.rng.random_range(2..40) * SEC;
                let mut ev = self.call(&who, iam, name, HOME, &ip, &ua);
                if name == "ListUserPolicies" {
                    ev.req = Some(format!("{{\"userName\":\"{me}\"}}"));
                }
                let ev = if name == "ListUsers" && self.rng.random_bool(0.5) {
                    self.deny(ev)
                } else {
                    ev
                };
                self.ct(at, ev, &entity);
            }
        }
        let method = self.rng.random_range(0..4u8);
        if self.rng.random_bool(0.25) {
            at += self.rng.random_range(5..60) * SEC;
            let name = *pick(
                &mut self.rng,
                &["CreateUser", "CreateRole", "AttachUserPolicy"],
            );
            let ev = CtEvent::api(who.clone(), iam, name, HOME, &ip, &ua)
                .req(format!("{{\"userName\":\"{me}\"}}"));
            let ev = self.deny(ev);
            self.ct(at, ev, &entity);
        }
        let next = |p: &mut Self, at: &mut i64| {
            *at += p.rng.random_range(3..45) * SEC;
            *at
        };
        let variant = match method {
            0 => {
                let t = next(self, &mut at);
                self.ct(
                    t,
                    CtEvent::api(who.clone(), iam, "AttachUserPolicy", HOME, &ip, &ua).req(
                        format!("{{\"userName\":\"{me}\",\"policyArn\":\"{ADMIN_POLICY}\"}}"),
                    ),
                    &entity,
                );
                "attach_admin_self"
            }
            1 => {
                let new = format!(
                    "{}{}",
                    pick(
                        &mut self.rng,
                        &[
                            "backup-admin",
                            "svc-support",
                            "aws-health-check",
                            "devops-temp",
                            "ci-runner",
                            "terraform-admin"
                        ]
                    ),
                    pick(&mut self.rng, &["", "2", "-01", "-prod"])
                );
                let id = format!("AIDA{}", upper_alnum(&mut self.rng, 17));
                let t = next(self, &mut at);
                let resp = format!(
                    "{{\"user\":{{\"path\":\"/\",\"userName\":\"{new}\",\"userId\":\"{id}\",\"arn\":\"arn:aws:iam::{}:user/{new}\",\"createDate\":\"{}\"}}}}",
                    pop.account,
                    iso_secs(t)
                );
                self.ct(
                    t,
                    CtEvent::api(who.clone(), iam, "CreateUser", HOME, &ip, &ua)
                        .req(format!("{{\"userName\":\"{new}\"}}"))
                        .resp(resp),
                    &entity,
                );
                let t = next(self, &mut at);
                self.ct(
                    t,
                    CtEvent::api(who.clone(), iam, "AttachUserPolicy", HOME, &ip, &ua).req(
                        format!("{{\"userName\":\"{new}\",\"policyArn\":\"{ADMIN_POLICY}\"}}"),
                    ),
                    &entity,
                );
                let key = format!("AKIA{}", upper_alnum(&mut self.rng, 16));
                let t = next(self, &mut at);
                let resp = format!(
                    "{{\"accessKey\":{{\"userName\":\"{new}\",\"accessKeyId\":\"{key}\",\"status\":\"Active\",\"createDate\":\"{}\"}}}}",
                    iso_secs(t)
                );
                self.ct(
                    t,
                    CtEvent::api(who.clone(), iam, "CreateAccessKey", HOME, &ip, &ua)
                        .req(format!("{{\"userName\":\"{new}\"}}"))
                        .resp(resp),
                    &entity,
                );
                if self.rng.random_bool(0.5) {
                    let t = next(self, &mut at);
                    self.ct(
                        t,
                        CtEvent::api(who.clone(), iam, "CreateLoginProfile", HOME, &ip, &ua).req(
                            format!("{{\"userName\":\"{new}\",\"passwordResetRequired\":false}}"),
                        ),
                        &entity,
                    );
                }
                "create_admin_user"
            }
            2 => {
                let admins: Vec<&str> = pop
                    .iam_users
                    .iter()
                    .filter(|u| u.admin)
                    .map(|u| u.name.as_str())
                    .collect();
                let target = pick(&mut self.rng, &admins).to_string();
                let t = next(self, &mut at);
                self.ct(
                    t,
                    CtEvent::api(who.clone(), iam, "ListAccessKeys", HOME, &ip, &ua)
                        .req(format!("{{\"userName\":\"{target}\"}}")),
                    &entity,
                );
                let key = format!("AKIA{}", upper_alnum(&mut self.rng, 16));
                let t = next(self, &mut at);
                let resp = format!(
                    "{{\"accessKey\":{{\"userName\":\"{target}\",\"accessKeyId\":\"{key}\",\"status\":\"Active\",\"createDate\":\"{}\"}}}}",
                    iso_secs(t)
                );
                self.ct(
                    t,
                    CtEvent::api(who.clone(), iam, "CreateAccessKey", HOME, &ip, &ua)
                        .req(format!("{{\"userName\":\"{target}\"}}"))
                        .resp(resp),
                    &entity,
                );
                "access_key_for_admin"
            }
            _ => {
                let doc = "{\"Version\":\"2012-10-17\",\"Statement\":[{\"Effect\":\"Allow\",\"Action\":\"*\",\"Resource\":\"*\"}]}";
                let mut esc = Vec::new();
                esc.js(doc);
                let policy = pick(
                    &mut self.rng,
                    &[
                        "backdoor",
                        "s3-access-temp",
                        "AdminPolicy",
                        "support-access",
                        "default",
                    ],
                )
                .to_string();
                let req = format!(
                    "{{\"userName\":\"{me}\",\"policyName\":\"{policy}\",\"policyDocument\":{}}}",
                    String::from_utf8_lossy(&esc)
                );
                let t = next(self, &mut at);
                self.ct(
                    t,
                    CtEvent::api(who.clone(), iam, "PutUserPolicy", HOME, &ip, &ua).req(req),
                    &entity,
                );
                "inline_star_policy"
            }
        };
        for _ in 0..self.rng.random_range(1..=3) {
            let name = *pick(
                &mut self.rng,
                &[
                    "ListUsers",
                    "GetAccountAuthorizationDetails",
                    "ListAttachedUserPolicies",
                    "ListRoles",
                ],
            );
            let ev = self.call(&who, iam, name, HOME, &ip, &ua);
            let t = next(self, &mut at);
            self.ct(t, ev, &entity);
        }
        variant
    }

    pub(crate) fn defense_evasion(&mut self, inst: u32) -> &'static str {
        let pop = self.pop;
        let t0 = self.when(30 * MIN);
        self.open(Scenario::DefenseEvasion, inst, t0);
        let (who, entity) = self.principal(Scenario::DefenseEvasion, t0, 0.3);
        let ip = self.attacker_ip();
        let ua = self.aws_ua(&who);
        let (trail, region) = if self.rng.random_bool(0.75) {
            pop.trails[0]
        } else {
            pop.trails[1]
        };
        let region: &'static str = REGIONS
            .iter()
            .copied()
            .find(|r| *r == region)
            .unwrap_or(HOME);
        let arn = pop.trail_arn(trail, region);
        let ct = "cloudtrail.amazonaws.com";
        let mut at = t0;
        for name in ["DescribeTrails", "GetTrailStatus", "GetEventSelectors"] {
            if name == "DescribeTrails" || self.rng.random_bool(0.5) {
                let ev = CtEvent::api(who.clone(), ct, name, region, &ip, &ua).req(
                    if name == "DescribeTrails" {
                        "{\"includeShadowTrails\":false}".into()
                    } else {
                        format!("{{\"name\":\"{arn}\"}}")
                    },
                );
                self.ct(at, ev, &entity);
                at += self.rng.random_range(2..50) * SEC;
            }
        }
        let mut actions = vec!["StopLogging", "PutEventSelectors", "UpdateTrail"];
        actions.shuffle(&mut self.rng);
        actions.truncate(self.rng.random_range(1..=3));
        if self.rng.random_bool(0.35) {
            actions.push("DeleteTrail");
        }
        let mut first = true;
        for name in actions {
            at += self.rng.random_range(3..120) * SEC;
            let selectors = if self.rng.random_bool(0.6) {
                "[{\"readWriteType\":\"ReadOnly\",\"includeManagementEvents\":false,\"dataResources\":[],\"excludeManagementEventSources\":[]}]".to_string()
            } else {
                "[{\"readWriteType\":\"All\",\"includeManagementEvents\":true,\"dataResources\":[],\"excludeManagementEventSources\":[\"kms.amazonaws.com\",\"rdsdata.amazonaws.com\"]}]".to_string()
            };
            let mut ev = CtEvent::api(who.clone(), ct, name, region, &ip, &ua);
            ev = match name {
                "StopLogging" | "DeleteTrail" => ev.req(format!("{{\"name\":\"{arn}\"}}")),
                "PutEventSelectors" => ev
                    .req(format!(
                        "{{\"trailName\":\"{trail}\",\"eventSelectors\":{selectors}}}"
                    ))
                    .resp(format!(
                        "{{\"trailARN\":\"{arn}\",\"eventSelectors\":{selectors}}}"
                    )),
                _ => {
                    let change = match self.rng.random_range(0..3u8) {
                        0 => "\"isMultiRegionTrail\":false".to_string(),
                        1 => "\"includeGlobalServiceEvents\":false".to_string(),
                        _ => format!("\"s3BucketName\":\"log-archive-{}\"", hex(&mut self.rng, 8)),
                    };
                    ev.req(format!("{{\"name\":\"{trail}\",{change}}}"))
                }
            };
            if first && self.rng.random_bool(0.2) {
                let denied_ev = self.deny(ev.clone());
                self.ct(at, denied_ev, &entity);
                at += self.rng.random_range(20..300) * SEC;
            }
            first = false;
            self.ct(at, ev, &entity);
        }
        if matches!(who, Who::Role { .. }) {
            "stolen_role_session"
        } else {
            "iam_user"
        }
    }

    pub(crate) fn root_login(&mut self, inst: u32) -> &'static str {
        if self.root_used {
            return self.nomfa_login(inst);
        }
        self.root_used = true;
        self.console_intrusion(inst, None)
    }

    pub(crate) fn nomfa_login(&mut self, inst: u32) -> &'static str {
        let pop = self.pop;
        let humans: Vec<usize> = (0..pop.iam_users.len())
            .filter(|&i| pop.iam_users[i].employee.is_some())
            .collect();
        let mut idx = *pick(&mut self.rng, &humans);
        for _ in 0..32 {
            if self.used.insert((Scenario::SuspiciousLogin, idx)) {
                break;
            }
            idx = *pick(&mut self.rng, &humans);
        }
        self.console_intrusion(inst, Some(idx))
    }

    /// Console sign-in without MFA from a new address (root when `user` is `None`), a few
    /// failures first now and then, and a short look around afterwards.
    fn console_intrusion(&mut self, inst: u32, user: Option<usize>) -> &'static str {
        let pop = self.pop;
        let t0 = self.when(40 * MIN);
        self.open(Scenario::SuspiciousLogin, inst, t0);
        let ip = self.attacker_ip();
        let ua = pick(&mut self.rng, BROWSERS).to_string();
        let (login, entity) = match user {
            Some(idx) => (Who::UserLogin { idx }, pop.iam_users[idx].name.clone()),
            None => (
                Who::Root { console: None },
                principal_arn(pop, &Who::Root { console: None }),
            ),
        };
        let mut at = t0;
        for _ in 0..self.rng.random_range(0..=3) {
            self.ct(
                at,
                console_login(pop, login.clone(), &ip, &ua, false, false),
                &entity,
            );
            at += self.rng.random_range(5..90) * SEC;
        }
        self.ct(
            at,
            console_login(pop, login, &ip, &ua, true, false),
            &entity,
        );
        let who = match user {
            Some(idx) => Who::User {
                idx,
                console: Some((at, false)),
            },
            None => Who::Root {
                console: Some((at, false)),
            },
        };
        let console_ua = "console.amazonaws.com";
        for _ in 0..self.rng.random_range(1..=4) {
            at += self.rng.random_range(10..180) * SEC;
            let (source, name) = *pick(
                &mut self.rng,
                &[
                    ("iam.amazonaws.com", "GetAccountSummary"),
                    ("iam.amazonaws.com", "ListUsers"),
                    ("ec2.amazonaws.com", "DescribeInstances"),
                    ("s3.amazonaws.com", "ListBuckets"),
                    ("iam.amazonaws.com", "ListAccessKeys"),
                ],
            );
            let ev = self.call(&who, source, name, HOME, &ip, console_ua);
            self.ct(at, ev, &entity);
        }
        if user.is_some() {
            "console_no_mfa"
        } else {
            "root_no_mfa"
        }
    }
}
