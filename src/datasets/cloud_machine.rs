//! Benign CloudTrail traffic from machines: workloads reading and writing S3, KMS, service
//! roles, monitoring and AWS Config sweeps, CI deploys, terraform plans, scheduled Lambdas.

use rand::Rng;

use super::clock::sts_expiration;
use super::cloud_benign::CtGen;
use super::cloud_catalog::{one_resource, s3_object, session_start};
use super::cloudtrail::{CtEvent, Kind, Who, denied};
use super::engine::Queue;
use super::population::{ROLE_CI, ROLE_CONFIG, ROLE_ETL, ROLE_LAMBDA};
use super::util::{Rng8, pick, weighted};

type Q = Queue<CtEvent>;

impl CtGen<'_> {
    pub(crate) fn machine(&self, rng: &mut Rng8, t: i64, small: bool, q: &mut Q) {
        let pop = self.pop;
        let has_bucket = !self.buckets.is_empty();
        let w = [
            if has_bucket { 16.0 } else { 0.0 },
            16.0,
            if self.home { 8.0 } else { 0.0 },
            6.0,
            5.0,
            if self.home { 3.0 } else { 0.0 },
            1.5,
            0.4,
            if has_bucket { 0.03 } else { 0.0 },
            1.0,
            4.0,
        ];
        let which = if small { 1 } else { weighted(rng, &w) };
        match which {
            0 => {
                let ip = pick(rng, &pop.internal_ips).clone();
                let n = rng.random_range(1..=3);
                if rng.random_bool(0.35) {
                    // A service user with a long-term key (backups, reporting).
                    let idx = pop
                        .iam_users
                        .iter()
                        .position(|u| u.name == "svc-backup")
                        .unwrap_or(0);
                    let ua = pop.iam_users[idx].cli_ua.clone();
                    for i in 0..n {
                        q.push(
                            t + i * rng.random_range(50..900),
                            self.s3_op(rng, Who::User { idx, console: None }, &ip, &ua),
                        );
                    }
                } else {
                    let role = if rng.random_bool(0.6) {
                        ROLE_ETL
                    } else {
                        ROLE_LAMBDA
                    };
                    for i in 0..n {
                        let who = self.role(rng, role, t);
                        q.push(
                            t + i * rng.random_range(50..900),
                            self.s3_op(rng, who, &ip, &pop.sdk_ua),
                        );
                    }
                }
            }
            1 => q.push(t, self.kms(rng, t)),
            2 => {
                let (svc, role) = if rng.random_bool(0.6) {
                    ("ec2.amazonaws.com", ROLE_ETL)
                } else {
                    ("lambda.amazonaws.com", ROLE_LAMBDA)
                };
                let r = &pop.roles[role];
                let sess = pick(rng, &r.sessions).clone();
                let resp = format!(
                    "{{\"credentials\":{{\"accessKeyId\":\"ASIA{}\",\"sessionToken\":\"IQoJb3JpZ2luX2VjE{}\",\"expiration\":\"{}\"}},\"assumedRoleUser\":{{\"assumedRoleId\":\"{}:{sess}\",\"arn\":\"arn:aws:sts::{}:assumed-role/{}/{sess}\"}}}}",
                    super::util::upper_alnum(rng, 16),
                    super::util::alnum(rng, 24),
                    sts_expiration(t + 6 * 3_600_000),
                    r.id,
                    pop.account,
                    r.name
                );
                let mut ev = CtEvent::api(
                    Who::Service(svc),
                    "sts.amazonaws.com",
                    "AssumeRole",
                    self.region,
                    svc,
                    svc,
                )
                .req(format!(
                    "{{\"roleArn\":\"{}\",\"roleSessionName\":\"{sess}\"}}",
                    r.arn
                ))
                .resp(resp)
                .resources(one_resource(&pop.account, "AWS::IAM::Role", &r.arn));
                ev.read_only = true;
                q.push(t, ev);
            }
            3 => {
                let u = pop
                    .iam_users
                    .iter()
                    .position(|u| u.name == "datadog-integration")
                    .unwrap_or(0);
                let ip = pick(rng, &pop.saas_ips).clone();
                let ua = pop.iam_users[u].cli_ua.clone();
                for i in 0..rng.random_range(2..=5) {
                    q.push(
                        t + i * rng.random_range(100..700),
                        self.describe(
                            rng,
                            Who::User {
                                idx: u,
                                console: None,
                            },
                            &ip,
                            &ua,
                        ),
                    );
                }
            }
            4 => {
                for i in 0..rng.random_range(2..=6) {
                    let who = Who::Role {
                        idx: ROLE_CONFIG,
                        session: 0,
                        start: session_start(t),
                    };
                    q.push(
                        t + i * 400,
                        self.any_read(rng, who, "config.amazonaws.com", "config.amazonaws.com"),
                    );
                }
            }
            5 => {
                let b = &pop
                    .buckets
                    .iter()
                    .find(|b| b.name.ends_with("cloudtrail-logs"))
                    .unwrap_or(&pop.buckets[0])
                    .name;
                let svc = "cloudtrail.amazonaws.com";
                q.push(
                    t,
                    CtEvent::api(Who::Service(svc), "s3.amazonaws.com", "GetBucketAcl", self.region, svc, svc)
                        .req(format!("{{\"bucketName\":\"{b}\",\"Host\":\"{b}.s3.amazonaws.com\",\"acl\":\"\"}}"))
                        .resources(format!("[{{\"accountId\":\"{}\",\"type\":\"AWS::S3::Bucket\",\"ARN\":\"arn:aws:s3:::{b}\"}}]", pop.account)),
                );
            }
            6 => self.ci_deploy(rng, t, q),
            7 => self.terraform(rng, t, q),
            8 => {
                // Nightly-style batch read: many GetObject from a known role and address (a near miss for exfiltration).
                let ip = pick(rng, &pop.internal_ips).clone();
                let b = *pick(rng, &self.buckets);
                let n = rng.random_range(40..=200);
                let mut at = t;
                for _ in 0..n {
                    at += rng.random_range(200..2500);
                    let key = self.object_key(rng, b);
                    let who = Who::Role {
                        idx: ROLE_ETL,
                        session: 0,
                        start: session_start(t),
                    };
                    let bytes = rng.random_range(10_000..2_000_000);
                    q.push(
                        at,
                        s3_object(
                            pop,
                            who,
                            "GetObject",
                            &pop.buckets[b].name,
                            self.region,
                            &key,
                            &ip,
                            &pop.sdk_ua,
                            bytes,
                        ),
                    );
                }
            }
            9 => {
                let key = pick(rng, &pop.kms_keys);
                let arn = format!("arn:aws:kms:{}:{}:key/{key}", self.region, pop.account);
                let svc = "kms.amazonaws.com";
                let mut ev = CtEvent::api(
                    Who::Service(svc),
                    svc,
                    "RotateKey",
                    self.region,
                    "AWS Internal",
                    "AWS Internal",
                )
                .kind(Kind::ServiceEvent)
                .extra(format!("{{\"keyId\":\"{arn}\"}}"))
                .resources(one_resource(&pop.account, "AWS::KMS::Key", &arn));
                ev.req = None;
                q.push(t, ev);
            }
            _ => {
                let f = pick(rng, pop.functions);
                let arn = format!(
                    "arn:aws:lambda:{}:{}:function:{f}",
                    self.region, pop.account
                );
                let svc = "events.amazonaws.com";
                q.push(
                    t,
                    CtEvent::api(Who::Service(svc), "lambda.amazonaws.com", "Invoke", self.region, svc, svc)
                        .req(format!("{{\"functionName\":\"{arn}\",\"invocationType\":\"Event\",\"sourceArn\":\"arn:aws:events:{}:{}:rule/{f}-schedule\"}}", self.region, pop.account))
                        .resources(one_resource(&pop.account, "AWS::Lambda::Function", &arn))
                        .data(),
                );
            }
        }
    }

    fn kms(&self, rng: &mut Rng8, t: i64) -> CtEvent {
        let pop = self.pop;
        let key = format!(
            "arn:aws:kms:{}:{}:key/{}",
            self.region,
            pop.account,
            pick(rng, &pop.kms_keys)
        );
        let name = if rng.random_bool(0.7) {
            "Decrypt"
        } else {
            "GenerateDataKey"
        };
        let ctx_bucket = &pick(rng, &pop.buckets).name;
        let req = if name == "Decrypt" {
            format!(
                "{{\"encryptionAlgorithm\":\"SYMMETRIC_DEFAULT\",\"encryptionContext\":{{\"aws:s3:arn\":\"arn:aws:s3:::{ctx_bucket}\"}}}}"
            )
        } else {
            format!(
                "{{\"keyId\":\"{key}\",\"keySpec\":\"AES_256\",\"encryptionContext\":{{\"aws:s3:arn\":\"arn:aws:s3:::{ctx_bucket}\"}}}}"
            )
        };
        let ev = if rng.random_bool(0.6) {
            let svc = "s3.amazonaws.com";
            CtEvent::api(
                Who::Service(svc),
                "kms.amazonaws.com",
                name,
                self.region,
                svc,
                svc,
            )
        } else {
            let role = if rng.random_bool(0.5) {
                ROLE_ETL
            } else {
                ROLE_LAMBDA
            };
            let who = self.role(rng, role, t);
            let ip = pick(rng, &pop.internal_ips).clone();
            CtEvent::api(
                who,
                "kms.amazonaws.com",
                name,
                self.region,
                &ip,
                &pop.sdk_ua,
            )
        };
        ev.req(req)
            .resources(one_resource(&pop.account, "AWS::KMS::Key", &key))
    }

    fn ci_deploy(&self, rng: &mut Rng8, t: i64, q: &mut Q) {
        let pop = self.pop;
        let ip = pick(rng, &pop.ci_ips).clone();
        let who = self.role(rng, ROLE_CI, t);
        let mut at = t;
        q.push(
            at,
            CtEvent::api(
                who.clone(),
                "sts.amazonaws.com",
                "GetCallerIdentity",
                self.region,
                &ip,
                &format!("{} command/sts.get-caller-identity", self.ci_ua),
            ),
        );
        if let Some(&b) = self
            .buckets
            .iter()
            .find(|&&b| pop.buckets[b].name.ends_with("static-assets"))
            .or(self.buckets.first())
        {
            for _ in 0..rng.random_range(1..=5) {
                at += rng.random_range(80..600);
                let key = self.object_key(rng, b);
                let ua = format!("{} command/s3.cp", self.ci_ua);
                q.push(
                    at,
                    s3_object(
                        pop,
                        who.clone(),
                        "PutObject",
                        &pop.buckets[b].name,
                        self.region,
                        &key,
                        &ip,
                        &ua,
                        rng.random_range(2_000..900_000),
                    ),
                );
            }
        }
        at += rng.random_range(500..3000);
        let f = pick(rng, pop.functions);
        q.push(
            at,
            CtEvent::api(who, "lambda.amazonaws.com", "UpdateFunctionCode20150331v2", self.region, &ip, &format!("{} command/lambda.update-function-code", self.ci_ua))
                .req(format!("{{\"functionName\":\"{f}\",\"publish\":true,\"dryRun\":false}}"))
                .resp(format!("{{\"functionName\":\"{f}\",\"functionArn\":\"arn:aws:lambda:{}:{}:function:{f}\",\"runtime\":\"python3.12\",\"codeSha256\":\"{}\",\"version\":\"{}\",\"state\":\"Active\"}}", self.region, pop.account, super::util::base64ish(rng, 43), rng.random_range(2..300u32))),
        );
    }

    fn terraform(&self, rng: &mut Rng8, t: i64, q: &mut Q) {
        let pop = self.pop;
        let ip = pick(rng, &pop.ci_ips).clone();
        let who = self.role(rng, ROLE_CI, t);
        let mut at = t;
        for _ in 0..rng.random_range(12..=35) {
            at += rng.random_range(30..1500);
            let mut ev = self.any_read(rng, who.clone(), &ip, &pop.terraform_ua);
            if rng.random_bool(0.004) {
                let (code, msg) = denied(pop, &ev.who, ev.source, ev.name);
                ev = ev.error(code, msg);
            }
            q.push(at, ev);
        }
    }
}
