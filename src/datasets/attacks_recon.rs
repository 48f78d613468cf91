//! Cloud reconnaissance and collection: discovery sweeps across services and regions, and bulk
//! S3 downloads by a compromised principal.

use rand::Rng;
use rand::seq::SliceRandom;

use super::attacks::Planner;
use super::clock::{MIN, SEC};
use super::cloud_benign::{HOME, REGIONS};
use super::cloud_catalog::{GLOBAL_READS, REGIONAL_READS, s3_object};
use super::cloudtrail::{CtEvent, Who};
use super::engine::Scenario;
use super::names::EXFIL_UAS;
use super::util::{hex, pick, scaled};

impl Planner<'_> {
    pub(crate) fn exfiltration(&mut self, inst: u32) -> &'static str {
        let pop = self.pop;
        let n = scaled(&mut self.rng, 300, 2500, self.k, 60);
        let dur = self.rng.random_range(3..=25) * MIN;
        let t0 = self.when(dur + 10 * MIN);
        self.open(Scenario::Exfiltration, inst, t0);
        let (who, entity) = self.principal(Scenario::Exfiltration, t0, 0.3);
        let ip = self.attacker_ip();
        let ua = if self.rng.random_bool(0.7) {
            pick(&mut self.rng, EXFIL_UAS).to_string()
        } else {
            self.aws_ua(&who)
        };
        let sensitive: Vec<usize> = (0..pop.buckets.len())
            .filter(|&i| {
                ["finance", "customer", "backups", "prod-data"]
                    .iter()
                    .any(|s| pop.buckets[i].name.contains(s))
            })
            .collect();
        let b = &pop.buckets[*pick(&mut self.rng, &sensitive)];
        let region: &'static str = REGIONS
            .iter()
            .copied()
            .find(|r| *r == b.region)
            .unwrap_or(HOME);
        let host = format!("{}.s3.{region}.amazonaws.com", b.name);
        let mut at = t0;
        let ev = self.call(&who, "s3.amazonaws.com", "ListBuckets", HOME, &ip, &ua);
        self.ct(at, ev, &entity);
        let prefix = *pick(&mut self.rng, b.prefixes);
        for _ in 0..self.rng.random_range(1..=8) {
            at += self.rng.random_range(1..20) * SEC;
            let ev = CtEvent::api(who.clone(), "s3.amazonaws.com", "ListObjects", region, &ip, &ua)
                .req(format!("{{\"list-type\":\"2\",\"bucketName\":\"{}\",\"encoding-type\":\"url\",\"max-keys\":\"1000\",\"prefix\":\"{prefix}\",\"Host\":\"{host}\"}}", b.name))
                .host(host.clone())
                .data();
            self.ct(at, ev, &entity);
        }
        let gap = (dur / i64::from(n)).max(20);
        let stem = hex(&mut self.rng, 6);
        for i in 0..n {
            at += self.rng.random_range(0..=gap * 2);
            let key = format!(
                "{prefix}{stem}/part-{i:05}.{}",
                pick(&mut self.rng, &["csv", "json", "parquet", "gz", "pdf"])
            );
            let bytes = self.rng.random_range(20_000..40_000_000);
            let ev = s3_object(
                pop,
                who.clone(),
                "GetObject",
                &b.name,
                region,
                &key,
                &ip,
                &ua,
                bytes,
            );
            self.ct(at, ev, &entity);
        }
        if region == HOME {
            "s3_bulk_get"
        } else {
            "s3_bulk_get_other_region"
        }
    }

    pub(crate) fn discovery(&mut self, inst: u32) -> &'static str {
        let n = scaled(&mut self.rng, 30, 150, self.k, 20) as usize;
        let dur = self.rng.random_range(2..=20) * MIN;
        let t0 = self.when(dur);
        self.open(Scenario::Discovery, inst, t0);
        let (who, entity) = self.principal(Scenario::Discovery, t0, 0.35);
        let ip = self.attacker_ip();
        let ua = self.aws_ua(&who);
        let deny_p = self.rng.random_range(0.3..0.7);
        let services = [
            "iam",
            "s3",
            "ec2",
            "lambda",
            "kms",
            "secretsmanager",
            "rds",
            "logs",
            "dynamodb",
            "ecr",
            "sns",
            "sqs",
            "elasticloadbalancing",
            "guardduty",
            "ssm",
            "cloudtrail",
            "organizations",
        ];
        let blocked: Vec<&str> = services
            .iter()
            .copied()
            .filter(|_| self.rng.random_bool(deny_p))
            .collect();
        let mut calls: Vec<(&'static str, &'static str, &'static str)> = Vec::new();
        while calls.len() < n {
            let mut round: Vec<(&'static str, &'static str, &'static str)> =
                GLOBAL_READS.iter().map(|(s, c)| (*s, *c, HOME)).collect();
            for (s, c) in REGIONAL_READS {
                for r in REGIONS {
                    if r == HOME || self.rng.random_bool(0.3) {
                        round.push((s, c, r));
                    }
                }
            }
            round.shuffle(&mut self.rng);
            calls.extend(round);
        }
        calls.truncate(n);
        let gap = (dur / n as i64).max(200);
        let mut at = t0;
        let first = self.call(
            &who,
            "sts.amazonaws.com",
            "GetCallerIdentity",
            HOME,
            &ip,
            &ua,
        );
        self.ct(at, first, &entity);
        for (source, name, region) in calls {
            at += self.rng.random_range(gap / 4..=gap * 7 / 4);
            let svc = source.split('.').next().unwrap_or("");
            let ev = self.call(&who, source, name, region, &ip, &ua);
            let ev = if blocked.contains(&svc) && name != "GetCallerIdentity" {
                self.deny(ev)
            } else {
                ev
            };
            self.ct(at, ev, &entity);
        }
        if matches!(who, Who::Role { .. }) {
            "stolen_role_session"
        } else {
            "iam_user"
        }
    }
}
