//! The simulated company: employees, customers, IAM users and roles, buckets, hosts, IP ranges and
//! user agents. Built once from the seed and shared read-only by every stream.

use std::collections::BTreeSet;

use rand::Rng;
use rand::seq::SliceRandom;

use super::names::{BROWSERS, FIRST_NAMES, LAST_NAMES, MAIL_DOMAINS};
use super::util::{Rng8, base64ish, hex, pick, pick_str, upper_alnum};

pub(crate) const DOMAIN: &str = "company.com";
pub(crate) const EMPLOYEES: usize = 40;
const CUSTOMERS: usize = 250;
const ADMINS: usize = 4;
const SSH_USERS: usize = 16;
pub(crate) const HUMAN_IAM_USERS: usize = 11;

pub(crate) struct Employee {
    pub user: String,
    pub email: String,
    pub uid: u32,
    pub admin: bool,
    /// Has a shell account on the servers.
    pub ssh: bool,
    pub key_type: &'static str,
    pub key_fp: String,
    pub home_ip: String,
    pub country: &'static str,
    pub browser: &'static str,
    pub iam: Option<usize>,
    /// Types passwords rather than using keys for SSH.
    pub password_ssh: bool,
}

pub(crate) struct Customer {
    pub email: String,
    pub ip: String,
    pub country: &'static str,
    pub browser: &'static str,
}

pub(crate) struct IamUser {
    pub name: String,
    pub arn: String,
    pub principal_id: String,
    pub access_key: String,
    pub admin: bool,
    pub mfa: bool,
    /// Index into `employees` for people; `None` for service users.
    pub employee: Option<usize>,
    pub cli_ua: String,
}

pub(crate) struct Role {
    pub name: &'static str,
    pub id: String,
    pub arn: String,
    /// Session names seen for this role.
    pub sessions: Vec<String>,
}

pub(crate) struct Bucket {
    pub name: String,
    pub region: &'static str,
    pub prefixes: &'static [&'static str],
}

pub(crate) struct Population {
    pub account: String,
    pub employees: Vec<Employee>,
    pub customers: Vec<Customer>,
    pub iam_users: Vec<IamUser>,
    pub roles: Vec<Role>,
    pub buckets: Vec<Bucket>,
    pub office_ips: Vec<String>,
    pub vpn_prefix: String,
    pub ci_ips: Vec<String>,
    pub saas_ips: Vec<String>,
    pub internal_ips: Vec<String>,
    pub kms_keys: Vec<String>,
    pub instances: Vec<String>,
    pub trails: Vec<(&'static str, &'static str)>,
    pub functions: &'static [&'static str],
    pub sdk_ua: String,
    pub terraform_ua: String,
    pub flow_hosts: Vec<String>,
    pub servers: Vec<String>,
    /// Every benign source address, so attackers never reuse one.
    pub known_ips: BTreeSet<String>,
}

/// Role indices (fixed order in `Population::roles`).
pub(crate) const ROLE_ADMIN: usize = 0;
pub(crate) const ROLE_DEV: usize = 1;
pub(crate) const ROLE_AUDITOR: usize = 2;
pub(crate) const ROLE_CI: usize = 3;
pub(crate) const ROLE_ETL: usize = 4;
pub(crate) const ROLE_LAMBDA: usize = 5;
pub(crate) const ROLE_CONFIG: usize = 6;

pub(crate) fn ip4(a: u8, rng: &mut Rng8) -> String {
    format!(
        "{a}.{}.{}.{}",
        rng.random_range(0..=255u8),
        rng.random_range(0..=255u8),
        rng.random_range(1..=254u8)
    )
}

fn residential_ip(rng: &mut Rng8) -> (String, &'static str) {
    const RANGES: [(u8, &str); 10] = [
        (73, "US"),
        (24, "US"),
        (76, "US"),
        (98, "US"),
        (71, "US"),
        (68, "US"),
        (86, "GB"),
        (92, "GB"),
        (84, "DE"),
        (70, "CA"),
    ];
    let (a, c) = *pick(rng, &RANGES);
    (ip4(a, rng), c)
}

impl Population {
    pub fn build(rng: &mut Rng8) -> Population {
        let account = format!(
            "{}{:011}",
            rng.random_range(1..=9u8),
            rng.random_range(0..100_000_000_000u64)
        );
        let mut firsts: Vec<&str> = FIRST_NAMES.to_vec();
        firsts.shuffle(rng);
        let mut known_ips = BTreeSet::new();
        let mut employees = Vec::with_capacity(EMPLOYEES);
        for (i, first) in firsts.iter().take(EMPLOYEES).enumerate() {
            let last = *pick(rng, LAST_NAMES);
            let user = first.to_ascii_lowercase();
            let (home_ip, country) = residential_ip(rng);
            known_ips.insert(home_ip.clone());
            employees.push(Employee {
                email: format!("{user}.{}@{DOMAIN}", last.to_ascii_lowercase()),
                user,
                uid: 1001 + i as u32,
                admin: i < ADMINS,
                ssh: i < SSH_USERS,
                key_type: if rng.random_bool(0.7) {
                    "ED25519"
                } else {
                    "RSA"
                },
                key_fp: base64ish(rng, 43),
                home_ip,
                country,
                browser: pick_str(rng, BROWSERS),
                iam: None,
                password_ssh: i < SSH_USERS && rng.random_bool(0.25),
            });
        }
        let mut customers = Vec::with_capacity(CUSTOMERS);
        let mut seen = BTreeSet::new();
        while customers.len() < CUSTOMERS {
            let email = personal_email(rng);
            if !seen.insert(email.clone()) {
                continue;
            }
            let (ip, country) = residential_ip(rng);
            known_ips.insert(ip.clone());
            customers.push(Customer {
                email,
                ip,
                country,
                browser: pick_str(rng, BROWSERS),
            });
        }

        let mut iam_users = Vec::new();
        for (i, e) in employees.iter_mut().take(HUMAN_IAM_USERS).enumerate() {
            let name = e.email.split('@').next().unwrap_or(&e.user).to_string();
            e.iam = Some(i);
            iam_users.push(new_iam_user(rng, &account, name, e.admin, Some(i)));
        }
        for svc in [
            "svc-ci-deploy",
            "svc-backup",
            "datadog-integration",
            "svc-reporting",
        ] {
            iam_users.push(new_iam_user(rng, &account, svc.to_string(), false, None));
        }
        let human_sessions: Vec<String> = iam_users
            .iter()
            .filter(|u| u.employee.is_some())
            .map(|u| u.name.clone())
            .collect();
        let instances: Vec<String> = (0..6).map(|_| format!("i-0{}", hex(rng, 16))).collect();
        let role_defs: [(&str, Vec<String>); 7] = [
            (
                "AdminRole",
                human_sessions.iter().take(ADMINS).cloned().collect(),
            ),
            ("DeveloperRole", human_sessions.clone()),
            (
                "ReadOnlyAuditor",
                human_sessions
                    .iter()
                    .skip(ADMINS)
                    .take(3)
                    .cloned()
                    .collect(),
            ),
            (
                "GitHubActionsDeploy",
                (0..5)
                    .map(|_| {
                        format!(
                            "GitHubActions-{}",
                            rng.random_range(1_000_000_000u64..9_999_999_999)
                        )
                    })
                    .collect(),
            ),
            (
                "etl-batch-instance-role",
                instances.iter().take(3).cloned().collect(),
            ),
            (
                "orders-processor-lambda-role",
                vec!["orders-processor".into(), "thumbnail-generator".into()],
            ),
            ("AWSServiceRoleForConfig", vec!["AWSConfig-Describe".into()]),
        ];
        let roles = role_defs
            .into_iter()
            .map(|(name, sessions)| Role {
                name,
                id: format!("AROA{}", upper_alnum(rng, 17)),
                arn: format!("arn:aws:iam::{account}:role/{name}"),
                sessions,
            })
            .collect();

        let buckets = vec![
            bucket(
                "company-prod-data",
                "us-east-1",
                &["orders/2024/", "events/raw/", "exports/daily/"],
            ),
            bucket(
                "company-customer-exports",
                "us-east-1",
                &["customers/", "crm/exports/"],
            ),
            bucket(
                "company-finance-reports",
                "us-east-1",
                &["reports/quarterly/", "payroll/", "invoices/"],
            ),
            bucket(
                "company-db-backups",
                "us-east-1",
                &["postgres/daily/", "mysql/weekly/"],
            ),
            bucket(
                "company-static-assets",
                "us-east-1",
                &["img/", "js/", "css/"],
            ),
            bucket("company-cloudtrail-logs", "us-east-1", &["AWSLogs/"]),
            bucket(
                "company-eu-customer-data",
                "eu-west-1",
                &["gdpr/", "profiles/", "exports/"],
            ),
            bucket(
                "company-ml-training",
                "us-west-2",
                &["datasets/", "models/"],
            ),
        ];
        let office_a = rng.random_range(64..=66u8);
        let office_net = format!(
            "{office_a}.{}.{}",
            rng.random_range(1..=250u8),
            rng.random_range(1..=250u8)
        );
        let office_ips: Vec<String> = (0..3)
            .map(|_| format!("{office_net}.{}", rng.random_range(2..=250u8)))
            .collect();
        let ci_ips: Vec<String> = (0..24)
            .map(|_| ip4(*pick(rng, &[20u8, 40, 52, 172, 4]), rng))
            .collect();
        let saas_ips: Vec<String> = (0..6)
            .map(|_| ip4(*pick(rng, &[3u8, 54, 44]), rng))
            .collect();
        let internal_ips: Vec<String> = (0..20)
            .map(|_| {
                format!(
                    "10.0.{}.{}",
                    rng.random_range(1..=40u8),
                    rng.random_range(4..=250u8)
                )
            })
            .collect();
        for ip in office_ips
            .iter()
            .chain(&ci_ips)
            .chain(&saas_ips)
            .chain(&internal_ips)
        {
            known_ips.insert(ip.clone());
        }
        let kms_keys = (0..4).map(|_| super::util::uuid(rng)).collect();
        let flow_hosts = (0..60)
            .map(|_| format!("192.168.10.{}", rng.random_range(3..=250u8)))
            .collect();
        let servers = (0..12)
            .map(|_| format!("192.168.20.{}", rng.random_range(2..=60u8)))
            .collect();
        let sdk_ua = boto3_ua(rng);
        let terraform_ua = format!(
            "APN/1.0 HashiCorp/1.0 Terraform/1.{}.{} (+https://www.terraform.io) terraform-provider-aws/5.{}.0 (+https://registry.terraform.io/providers/hashicorp/aws) aws-sdk-go-v2/1.26.1 os/linux lang/go#1.22.1 md/GOOS#linux md/GOARCH#amd64",
            rng.random_range(6..=8u8),
            rng.random_range(0..=5u8),
            rng.random_range(40..=50u8)
        );
        Population {
            account,
            employees,
            customers,
            iam_users,
            roles,
            buckets,
            office_ips,
            vpn_prefix: format!("10.8.{}", rng.random_range(0..=3u8)),
            ci_ips,
            saas_ips,
            internal_ips,
            kms_keys,
            instances,
            trails: vec![
                ("org-management-trail", "us-east-1"),
                ("eu-data-events", "eu-west-1"),
            ],
            functions: &[
                "orders-processor",
                "thumbnail-generator",
                "nightly-report",
                "slack-notifier",
            ],
            sdk_ua,
            terraform_ua,
            flow_hosts,
            servers,
            known_ips,
        }
    }

    /// Where a person is connecting from right now: office, home, or now and then somewhere new.
    pub fn employee_ip(&self, rng: &mut Rng8, e: &Employee) -> String {
        let x: f64 = rng.random();
        if x < 0.55 {
            pick(rng, &self.office_ips).clone()
        } else if x < 0.985 {
            e.home_ip.clone()
        } else {
            // Travel: hotel or mobile network, a benign "new IP".
            ip4(*pick(rng, &[172u8, 174, 107, 166]), rng)
        }
    }

    pub fn trail_arn(&self, name: &str, region: &str) -> String {
        format!("arn:aws:cloudtrail:{region}:{}:trail/{name}", self.account)
    }
}

fn bucket(name: &str, region: &'static str, prefixes: &'static [&'static str]) -> Bucket {
    Bucket {
        name: name.to_string(),
        region,
        prefixes,
    }
}

fn new_iam_user(
    rng: &mut Rng8,
    account: &str,
    name: String,
    admin: bool,
    employee: Option<usize>,
) -> IamUser {
    IamUser {
        arn: format!("arn:aws:iam::{account}:user/{name}"),
        principal_id: format!("AIDA{}", upper_alnum(rng, 17)),
        access_key: format!("AKIA{}", upper_alnum(rng, 16)),
        admin,
        mfa: employee.is_some() && rng.random_bool(0.85),
        employee,
        cli_ua: if employee.is_some() {
            cli_ua(rng)
        } else {
            boto3_ua(rng)
        },
        name,
    }
}

/// A benign aws-cli user agent prefix (the `command/…` part is added per call).
pub(crate) fn cli_ua(rng: &mut Rng8) -> String {
    let os = *pick(
        rng,
        &[
            "Darwin/23.4.0 exe/x86_64",
            "Darwin/23.5.0 exe/arm64",
            "Linux/6.5.0-35-generic exe/x86_64.ubuntu.22",
            "Windows/10 exe/AMD64",
            "Linux/6.8.0-31-generic exe/x86_64.ubuntu.24",
        ],
    );
    format!(
        "aws-cli/2.{}.{} Python/3.11.{} {os} prompt/off",
        rng.random_range(13..=17u8),
        rng.random_range(0..=40u8),
        rng.random_range(4..=9u8)
    )
}

pub(crate) fn boto3_ua(rng: &mut Rng8) -> String {
    let v = rng.random_range(20..=99u8);
    format!(
        "Boto3/1.34.{v} Python/3.11.{} Linux/5.10.{}-{}.amzn2.x86_64 Botocore/1.34.{v}",
        rng.random_range(4..=9u8),
        rng.random_range(200..=220u16),
        rng.random_range(190..=210u16)
    )
}

/// `jsmith87@gmail.com`, `maria.garcia@outlook.com` … (customers, or names on a leaked list).
pub(crate) fn personal_email(rng: &mut Rng8) -> String {
    let first = pick(rng, FIRST_NAMES).to_ascii_lowercase();
    let last = pick(rng, LAST_NAMES).to_ascii_lowercase();
    let domain = *pick(rng, MAIL_DOMAINS);
    match rng.random_range(0..4u8) {
        0 => format!("{first}.{last}@{domain}"),
        1 => format!(
            "{}{last}{}@{domain}",
            &first[..1],
            rng.random_range(1..99u8)
        ),
        2 => format!("{first}{}@{domain}", rng.random_range(70..=2005u16)),
        _ => format!("{first}_{last}@{domain}"),
    }
}
