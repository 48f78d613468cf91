//! Legitimate administration in CloudTrail: IAM changes, trail housekeeping and EC2 operations.
//! These are the near misses detectors must not flag (an admin granting AdministratorAccess to
//! another admin, rotating keys, updating a trail).

use rand::Rng;

use super::clock::SEC;
use super::cloud_benign::CtGen;
use super::cloud_catalog::read_req;
use super::cloudtrail::{CtEvent, Who};
use super::engine::Queue;
use super::names::{FIRST_NAMES, LAST_NAMES};
use super::population::{HUMAN_IAM_USERS, ROLE_ADMIN, ROLE_DEV};
use super::util::{Rng8, pick, upper_alnum};

const MANAGED: &[&str] = &[
    "ReadOnlyAccess",
    "AmazonS3ReadOnlyAccess",
    "AmazonEC2ReadOnlyAccess",
    "CloudWatchReadOnlyAccess",
    "AWSLambda_ReadOnlyAccess",
];

pub(crate) fn iam_change(g: &CtGen, rng: &mut Rng8, t: i64, q: &mut Queue<CtEvent>) {
    let pop = g.pop;
    let idx = g.pick_human(rng, true);
    let ip = g.ip_of(rng, idx);
    let console = rng.random_bool(0.5);
    let who = if console {
        Who::User {
            idx,
            console: Some((t - 20 * 60 * SEC, true)),
        }
    } else {
        Who::User { idx, console: None }
    };
    let ua = |name: &str| {
        if console {
            "console.amazonaws.com".to_string()
        } else {
            g.cli_ua(idx, "iam", name)
        }
    };
    let call = |name: &'static str, req: String| {
        CtEvent::api(
            who.clone(),
            "iam.amazonaws.com",
            name,
            g.region,
            &ip,
            &ua(name),
        )
        .req(req)
    };
    let mut at = t;
    let mut step = |rng: &mut Rng8| {
        at += rng.random_range(3..90) * SEC;
        at
    };
    match rng.random_range(0..10u8) {
        0..=3 => {
            let name = format!(
                "{}.{}",
                pick(rng, FIRST_NAMES).to_ascii_lowercase(),
                pick(rng, LAST_NAMES).to_ascii_lowercase()
            );
            let arn = format!("arn:aws:iam::{}:user/{name}", pop.account);
            let id = format!("AIDA{}", upper_alnum(rng, 17));
            q.push(step(rng), call("CreateUser", format!("{{\"userName\":\"{name}\"}}")).resp(format!(
                "{{\"user\":{{\"path\":\"/\",\"userName\":\"{name}\",\"userId\":\"{id}\",\"arn\":\"{arn}\",\"createDate\":\"{}\"}}}}",
                super::clock::iso_secs(t)
            )));
            q.push(
                step(rng),
                call(
                    "AddUserToGroup",
                    format!(
                        "{{\"groupName\":\"{}\",\"userName\":\"{name}\"}}",
                        pick(rng, &["Developers", "Analysts", "Support"])
                    ),
                ),
            );
            let policy = pick(rng, MANAGED);
            q.push(step(rng), call("AttachUserPolicy", format!("{{\"userName\":\"{name}\",\"policyArn\":\"arn:aws:iam::aws:policy/{policy}\"}}")));
            q.push(
                step(rng),
                call(
                    "CreateLoginProfile",
                    format!("{{\"userName\":\"{name}\",\"passwordResetRequired\":true}}"),
                ),
            );
        }
        4..=6 => {
            // Key rotation, for oneself or a service user.
            let target = if rng.random_bool(0.5) {
                pop.iam_users[idx].name.clone()
            } else {
                pick(rng, &pop.iam_users[HUMAN_IAM_USERS..]).name.clone()
            };
            let new_key = format!("AKIA{}", upper_alnum(rng, 16));
            q.push(step(rng), call("CreateAccessKey", format!("{{\"userName\":\"{target}\"}}")).resp(format!(
                "{{\"accessKey\":{{\"userName\":\"{target}\",\"accessKeyId\":\"{new_key}\",\"status\":\"Active\",\"createDate\":\"{}\"}}}}",
                super::clock::iso_secs(t)
            )));
            let old = pop.iam_users.iter().find(|u| u.name == target).map_or_else(
                || format!("AKIA{}", upper_alnum(rng, 16)),
                |u| u.access_key.clone(),
            );
            q.push(step(rng), call("UpdateAccessKey", format!("{{\"userName\":\"{target}\",\"accessKeyId\":\"{old}\",\"status\":\"Inactive\"}}")));
            if rng.random_bool(0.6) {
                q.push(
                    step(rng),
                    call(
                        "DeleteAccessKey",
                        format!("{{\"userName\":\"{target}\",\"accessKeyId\":\"{old}\"}}"),
                    ),
                );
            }
        }
        7 => {
            // An admin granting admin to another admin: legitimate, and a classic false positive.
            let other = g.pick_human(rng, true);
            let target = pop.iam_users[other].name.clone();
            q.push(
                step(rng),
                call(
                    "ListAttachedUserPolicies",
                    format!("{{\"userName\":\"{target}\"}}"),
                ),
            );
            q.push(step(rng), call("AttachUserPolicy", format!("{{\"userName\":\"{target}\",\"policyArn\":\"arn:aws:iam::aws:policy/AdministratorAccess\"}}")));
        }
        8 => {
            let target = pick(rng, &pop.iam_users[HUMAN_IAM_USERS..]).name.clone();
            let doc = format!(
                "{{\"Version\":\"2012-10-17\",\"Statement\":[{{\"Effect\":\"Allow\",\"Action\":[\"s3:PutObject\",\"s3:GetObject\"],\"Resource\":\"arn:aws:s3:::company-db-backups/{}*\"}}]}}",
                pick(rng, &["postgres/", "mysql/"])
            );
            let mut req = Vec::new();
            super::util::Put::js(&mut req, &doc);
            let req = format!(
                "{{\"userName\":\"{target}\",\"policyName\":\"backup-bucket-write\",\"policyDocument\":{}}}",
                String::from_utf8_lossy(&req)
            );
            q.push(step(rng), call("PutUserPolicy", req));
        }
        _ => {
            let f = pick(rng, pop.functions);
            let name = format!("{f}-exec-role");
            let trust = "{\"Version\":\"2012-10-17\",\"Statement\":[{\"Effect\":\"Allow\",\"Principal\":{\"Service\":\"lambda.amazonaws.com\"},\"Action\":\"sts:AssumeRole\"}]}";
            let mut esc = Vec::new();
            super::util::Put::js(&mut esc, trust);
            q.push(
                step(rng),
                call(
                    "CreateRole",
                    format!(
                        "{{\"roleName\":\"{name}\",\"assumeRolePolicyDocument\":{}}}",
                        String::from_utf8_lossy(&esc)
                    ),
                ),
            );
            q.push(step(rng), call("AttachRolePolicy", format!("{{\"roleName\":\"{name}\",\"policyArn\":\"arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole\"}}")));
        }
    }
}

pub(crate) fn trail_admin(g: &CtGen, rng: &mut Rng8, t: i64, q: &mut Queue<CtEvent>) {
    let pop = g.pop;
    let idx = g.pick_human(rng, true);
    let ip = g.ip_of(rng, idx);
    let who = Who::User { idx, console: None };
    let mut at = t;
    for name in [
        "DescribeTrails",
        "GetTrailStatus",
        "GetEventSelectors",
        "LookupEvents",
    ] {
        if rng.random_bool(0.7) {
            at += rng.random_range(2..40) * SEC;
            let ua = g.cli_ua(idx, "cloudtrail", name);
            q.push(
                at,
                CtEvent::api(
                    who.clone(),
                    "cloudtrail.amazonaws.com",
                    name,
                    g.region,
                    &ip,
                    &ua,
                )
                .req_opt(read_req(pop, rng, g.region, name, "")),
            );
        }
    }
    if rng.random_bool(0.05) {
        let (trail, region) = pop.trails[0];
        let arn = pop.trail_arn(trail, region);
        at += rng.random_range(10..120) * SEC;
        let ua = g.cli_ua(idx, "cloudtrail", "UpdateTrail");
        q.push(
            at,
            CtEvent::api(who, "cloudtrail.amazonaws.com", "UpdateTrail", g.region, &ip, &ua)
                .req(format!("{{\"name\":\"{trail}\",\"enableLogFileValidation\":true}}"))
                .resp(format!("{{\"name\":\"{trail}\",\"s3BucketName\":\"company-cloudtrail-logs\",\"includeGlobalServiceEvents\":true,\"isMultiRegionTrail\":true,\"trailARN\":\"{arn}\",\"logFileValidationEnabled\":true,\"isOrganizationTrail\":false}}")),
        );
    }
}

pub(crate) fn ec2_ops(g: &CtGen, rng: &mut Rng8, t: i64, q: &mut Queue<CtEvent>) {
    let pop = g.pop;
    let idx = g.pick_human(rng, false);
    let admin = pop.iam_users[idx].admin;
    let ip = g.ip_of(rng, idx);
    let role = if admin { ROLE_ADMIN } else { ROLE_DEV };
    let session = pop.roles[role]
        .sessions
        .iter()
        .position(|s| *s == pop.iam_users[idx].name)
        .unwrap_or(0);
    let who = Who::Role {
        idx: role,
        session,
        start: t - 90 * SEC,
    };
    let inst = pick(rng, &pop.instances).clone();
    let (name, req): (&'static str, String) = match rng.random_range(0..4u8) {
        0 => (
            "StopInstances",
            format!(
                "{{\"instancesSet\":{{\"items\":[{{\"instanceId\":\"{inst}\"}}]}},\"force\":false}}"
            ),
        ),
        1 => (
            "StartInstances",
            format!("{{\"instancesSet\":{{\"items\":[{{\"instanceId\":\"{inst}\"}}]}}}}"),
        ),
        2 => (
            "CreateTags",
            format!(
                "{{\"resourcesSet\":{{\"items\":[{{\"resourceId\":\"{inst}\"}}]}},\"tagSet\":{{\"items\":[{{\"key\":\"owner\",\"value\":\"{}\"}}]}}}}",
                pop.iam_users[idx].name
            ),
        ),
        _ => (
            "AuthorizeSecurityGroupIngress",
            format!(
                "{{\"groupId\":\"sg-0{}\",\"ipPermissions\":{{\"items\":[{{\"ipProtocol\":\"tcp\",\"fromPort\":443,\"toPort\":443,\"ipRanges\":{{\"items\":[{{\"cidrIp\":\"{}/32\"}}]}}}}]}}}}",
                super::util::hex(rng, 16),
                pick(rng, &pop.office_ips)
            ),
        ),
    };
    let ua = g.cli_ua(idx, "ec2", name);
    q.push(
        t,
        CtEvent::api(
            who.clone(),
            "ec2.amazonaws.com",
            "DescribeInstances",
            g.region,
            &ip,
            &g.cli_ua(idx, "ec2", "DescribeInstances"),
        )
        .req_opt(read_req(pop, rng, g.region, "DescribeInstances", "")),
    );
    q.push(
        t + rng.random_range(5..60) * SEC,
        CtEvent::api(who, "ec2.amazonaws.com", name, g.region, &ip, &ua)
            .req(req)
            .resp(
                "{\"requestId\":\"".to_string() + &super::util::uuid(rng) + "\",\"_return\":true}",
            ),
    );
}
