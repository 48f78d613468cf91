//! Benign profiles: the shapes of ordinary work that differ between organisations.
//!
//! `office` is the profile detection was developed against. `pipelines` was the first held-out
//! profile — scheduled bulk exports by a pipeline role from the first night on (no baseline
//! yet), a weekly backup sweep by a service user, people who mistype their password two or
//! three times — and once its false alarms had been read and fixed it became a development
//! profile too. `releases` came next — CI runners pulling release artefacts in bursts on
//! weekday working hours, a monthly archive read on the 1st, quiet weekends, and people who
//! mistype up to four times — and it too was read, so it is a development profile now.
//! `research` came next — ad hoc training runs at any hour, weekends included, each reading a
//! dataset bucket from whichever of eight GPU nodes the scheduler gave it, and people who
//! mistype up to three times — and was read too. `rotation` is held out: an automation role
//! rotating people's access keys every Sunday night (a new key, the old one deactivated, then
//! deleted) from one internal address, and people who mistype up to twice. It was read too, so
//! it is a development profile now. `snapshots` is held out: a backup service user snapshots
//! the volume of every instance each night at 03:00 and deletes the snapshots a week old, from
//! one internal address, and people who mistype up to three times. It was read too.
//! `posture` is held out: a third-party posture scanner assumes the read-only auditor role
//! every night at 01:00 from one of two outside addresses and makes 40–70 read calls across
//! services in a few minutes, a few of them refused; people mistype up to twice. It was read
//! too. `helpdesk` is held out: an IT administrator works the helpdesk on weekdays from the
//! office or home, resetting people's console passwords (reset required at next sign-in),
//! re-registering lost MFA devices, onboarding new hires on Mondays and offboarding contractors
//! on Fridays; people mistype up to twice.

use rand::Rng;

use super::clock::{DAY, HOUR, MIN, SEC, civil};
use super::cloud_benign::{CtGen, HOME};
use super::cloud_catalog::s3_object;
use super::cloudtrail::{CtEvent, Who, denied};
use super::engine::Item;
use super::names::{FIRST_NAMES, LAST_NAMES};
use super::population::{Population, ROLE_ADMIN, ROLE_AUDITOR, ROLE_CI, ROLE_ETL, ip4};
use super::util::{Rng8, hex, pick};

/// Which habits the benign background follows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Profile {
    /// The development profile.
    #[default]
    Office,
    /// The second development profile (see the module comment).
    Pipelines,
    /// The third development profile (see the module comment).
    Releases,
    /// The fourth development profile (see the module comment).
    Research,
    /// The fifth development profile (see the module comment).
    Rotation,
    /// The sixth development profile (see the module comment).
    Snapshots,
    /// The seventh development profile (see the module comment).
    Posture,
    /// The held-out profile (see the module comment).
    Helpdesk,
}

impl Profile {
    pub fn as_str(self) -> &'static str {
        match self {
            Profile::Office => "office",
            Profile::Pipelines => "pipelines",
            Profile::Releases => "releases",
            Profile::Research => "research",
            Profile::Rotation => "rotation",
            Profile::Snapshots => "snapshots",
            Profile::Posture => "posture",
            Profile::Helpdesk => "helpdesk",
        }
    }

    /// The profile named `name` (the generator's `--profile`).
    pub fn from_name(name: &str) -> Option<Profile> {
        [
            Profile::Office,
            Profile::Pipelines,
            Profile::Releases,
            Profile::Research,
            Profile::Rotation,
            Profile::Snapshots,
            Profile::Posture,
            Profile::Helpdesk,
        ]
        .into_iter()
        .find(|p| p.as_str() == name)
    }

    /// Chance that a password login starts with typos, and the most typos before success.
    pub(crate) fn typos(self) -> (f64, u32) {
        match self {
            Profile::Office => (0.06, 1),
            Profile::Pipelines => (0.18, 3),
            Profile::Releases => (0.12, 4),
            Profile::Research => (0.10, 3),
            Profile::Rotation => (0.08, 2),
            Profile::Snapshots => (0.07, 3),
            Profile::Posture => (0.05, 2),
            Profile::Helpdesk => (0.09, 2),
        }
    }
}

/// Seq numbers of scheduled items start here, clear of the attack plan's.
const SEQ_BASE: u64 = 1 << 40;

/// Home-region CloudTrail events of a 1M-event dataset: job sizes are for that scale.
const FULL_SCALE: f64 = 279_000.0;

/// The profile's scheduled CloudTrail jobs for the home region over `period`, as untagged
/// (benign) items to merge into that stream of about `home_events` events. Smaller datasets
/// get smaller jobs, never below 150 objects (still a bulk read to the detectors).
pub(crate) fn scheduled_ct(
    profile: Profile,
    pop: &Population,
    period: (i64, i64),
    home_events: u64,
    rng: &mut Rng8,
) -> Vec<Item<CtEvent>> {
    match profile {
        Profile::Office => Vec::new(),
        Profile::Pipelines => pipelines_jobs(pop, period, home_events, rng),
        Profile::Releases => release_jobs(pop, period, home_events, rng),
        Profile::Research => research_jobs(pop, period, home_events, rng),
        Profile::Rotation => key_rotation(pop, period, rng),
        Profile::Snapshots => nightly_snapshots(pop, period, rng),
        Profile::Posture => posture_scans(pop, period, rng),
        Profile::Helpdesk => helpdesk(pop, period, rng),
    }
}

/// Untagged items with sequence numbers clear of the attack plan's.
#[derive(Default)]
struct Jobs(Vec<Item<CtEvent>>);

impl Jobs {
    fn push(&mut self, t: i64, ev: CtEvent) {
        let seq = SEQ_BASE + self.0.len() as u64;
        self.0.push(Item {
            t,
            seq,
            ev,
            tag: None,
        });
    }
}

/// Midnight (UTC) of every day that overlaps `period`.
fn days(period: (i64, i64)) -> impl Iterator<Item = i64> {
    let first = period.0 - period.0.rem_euclid(DAY);
    (0..)
        .map(move |i| first + i * DAY)
        .take_while(move |day| *day < period.1)
}

/// Job sizes scale with the dataset, never below 150 objects (still a bulk read).
fn scaled(home_events: u64) -> impl Fn(i64) -> i64 {
    let scale = (home_events as f64 / FULL_SCALE).min(1.0);
    move |base: i64| ((base as f64 * scale) as i64).max(150)
}

/// Bulk `GetObject` reads of one bucket by scheduled jobs, within the dataset's period.
struct BulkReads<'a> {
    pop: &'a Population,
    ct: CtGen<'a>,
    bucket: usize,
    bucket_name: String,
    period: (i64, i64),
    jobs: Jobs,
}

impl<'a> BulkReads<'a> {
    /// The home region's first (`last = false`) or last bucket; None without buckets.
    fn new(pop: &'a Population, period: (i64, i64), last: bool) -> Option<Self> {
        let ct = CtGen::new(pop, HOME);
        let bucket = *if last {
            ct.buckets.last()
        } else {
            ct.buckets.first()
        }?;
        Some(BulkReads {
            pop,
            bucket_name: pop.buckets[bucket].name.clone(),
            ct,
            bucket,
            period,
            jobs: Jobs::default(),
        })
    }

    /// `n` reads evenly over `span` from `start` by `who`, from `ip` with agent `ua`.
    #[allow(clippy::too_many_arguments)]
    fn run(
        &mut self,
        rng: &mut Rng8,
        (start, n, span): (i64, i64, i64),
        who: impl Fn(&CtGen, &mut Rng8) -> Who,
        ip: &str,
        ua: &str,
        bytes: std::ops::Range<u64>,
    ) {
        for i in 0..n {
            let t = start + i * span / n;
            if t < self.period.0 || t >= self.period.1 {
                continue;
            }
            let who = who(&self.ct, rng);
            let key = self.ct.object_key(rng, self.bucket);
            let size = rng.random_range(bytes.clone());
            let ev = s3_object(
                self.pop,
                who,
                "GetObject",
                &self.bucket_name,
                HOME,
                &key,
                ip,
                ua,
                size,
            );
            self.jobs.push(t, ev);
        }
    }
}

/// CI runners fetch release artefacts: 4–10 deploy runs per weekday between 09:00 and 18:00
/// UTC, each 150–700 objects in 2–6 minutes from one of three runner addresses; on the 1st
/// of the month an archive job reads 3,000–8,000 objects overnight. Weekends are quiet.
fn release_jobs(
    pop: &Population,
    period: (i64, i64),
    home_events: u64,
    rng: &mut Rng8,
) -> Vec<Item<CtEvent>> {
    let size = scaled(home_events);
    let Some(mut reads) = BulkReads::new(pop, period, true) else {
        return Vec::new();
    };
    let runners: Vec<String> = (0..3)
        .map(|_| pick(rng, &pop.internal_ips).clone())
        .collect();
    let archive_ip = pick(rng, &pop.internal_ips).clone();
    for day in days(period) {
        let date = civil(day);
        if date.weekday < 5 {
            for _ in 0..rng.random_range(4..=10) {
                let start = day + 9 * HOUR + rng.random_range(0..9 * 60) * MIN;
                let n = size(rng.random_range(150..700i64)).min(700);
                let span = rng.random_range(2..6) * MIN;
                let ip = pick(rng, &runners).clone();
                let who = |ct: &CtGen, rng: &mut Rng8| ct.role(rng, ROLE_CI, start);
                reads.run(
                    rng,
                    (start, n, span),
                    who,
                    &ip,
                    &pop.sdk_ua,
                    50_000..200_000_000,
                );
            }
        }
        if date.day == 1 {
            let start = day + 2 * HOUR + rng.random_range(0..60) * MIN;
            let n = size(rng.random_range(3_000..8_000i64));
            let span = rng.random_range(30..80) * MIN;
            let who = |ct: &CtGen, rng: &mut Rng8| ct.role(rng, ROLE_ETL, start);
            reads.run(
                rng,
                (start, n, span),
                who,
                &archive_ip,
                &pop.sdk_ua,
                50_000..200_000_000,
            );
        }
    }
    reads.jobs.0
}

/// Ad hoc training runs: 0–3 a day, weekends too, at any hour; each reads 200–3,000 objects
/// of the first bucket in 5–40 minutes as the pipeline role, from one of eight GPU nodes.
fn research_jobs(
    pop: &Population,
    period: (i64, i64),
    home_events: u64,
    rng: &mut Rng8,
) -> Vec<Item<CtEvent>> {
    let size = scaled(home_events);
    let Some(mut reads) = BulkReads::new(pop, period, false) else {
        return Vec::new();
    };
    let nodes: Vec<String> = (0..8)
        .map(|_| pick(rng, &pop.internal_ips).clone())
        .collect();
    for day in days(period) {
        for _ in 0..rng.random_range(0..=3) {
            let start = day + rng.random_range(0..24 * 60) * MIN;
            let n = size(rng.random_range(200..3_000i64));
            let span = rng.random_range(5..40) * MIN;
            let node = pick(rng, &nodes).clone();
            let who = |ct: &CtGen, rng: &mut Rng8| ct.role(rng, ROLE_ETL, start);
            reads.run(
                rng,
                (start, n, span),
                who,
                &node,
                &pop.sdk_ua,
                1_000_000..500_000_000,
            );
        }
    }
    reads.jobs.0
}

/// The IAM user names of people (not service users).
fn staff_iam_users(pop: &Population) -> Vec<&str> {
    pop.iam_users
        .iter()
        .filter(|u| u.employee.is_some())
        .map(|u| u.name.as_str())
        .collect()
}

/// Every Sunday from 02:00 UTC an automation session of the admin role rotates the access keys
/// of 4–10 people: `CreateAccessKey`, then `UpdateAccessKey` (old key inactive), then
/// `DeleteAccessKey`, a few seconds apart, all from one internal address.
fn key_rotation(pop: &Population, period: (i64, i64), rng: &mut Rng8) -> Vec<Item<CtEvent>> {
    let ct = CtGen::new(pop, HOME);
    let ip = pick(rng, &pop.internal_ips).clone();
    let people = staff_iam_users(pop);
    let mut jobs = Jobs::default();
    if people.is_empty() {
        return jobs.0;
    }
    for day in days(period) {
        if civil(day).weekday == 6 {
            let mut at = day + 2 * HOUR + rng.random_range(0..30) * MIN;
            let who = ct.role(rng, ROLE_ADMIN, at);
            for _ in 0..rng.random_range(4..=10) {
                let user = *pick(rng, &people);
                for name in ["CreateAccessKey", "UpdateAccessKey", "DeleteAccessKey"] {
                    at += rng.random_range(2..20) * SEC;
                    if at < period.0 || at >= period.1 {
                        continue;
                    }
                    let ev = CtEvent::api(
                        who.clone(),
                        "iam.amazonaws.com",
                        name,
                        HOME,
                        &ip,
                        &pop.sdk_ua,
                    )
                    .req(format!("{{\"userName\":\"{user}\"}}"));
                    jobs.push(at, ev);
                }
            }
        }
    }
    jobs.0
}

/// Every night from 01:00 UTC a posture scanner (a vendor's, from one of its two addresses)
/// assumes the read-only auditor role and makes 40–70 read calls across services over 4–9
/// minutes; about one in sixteen is refused (services the role does not cover).
fn posture_scans(pop: &Population, period: (i64, i64), rng: &mut Rng8) -> Vec<Item<CtEvent>> {
    let ct = CtGen::new(pop, HOME);
    let vendor = [ip4(3, rng), ip4(52, rng)];
    let ua = "Boto3/1.34.69 md/Botocore#1.34.69 ua/2.0 os/linux#5.10.213 md/arch#x86_64 lang/python#3.11.8 md/pyimpl#CPython cfg/retry-mode#adaptive Botocore/1.34.69 scanner/posture";
    let mut jobs = Jobs::default();
    for day in days(period) {
        let start = day + HOUR + rng.random_range(0..20) * MIN;
        let ip = pick(rng, &vendor).clone();
        let calls = rng.random_range(40..=70i64);
        let span = rng.random_range(4..10) * MIN;
        for i in 0..calls {
            let at = start + i * span / calls;
            if at < period.0 || at >= period.1 {
                continue;
            }
            let who = ct.role(rng, ROLE_AUDITOR, start);
            let mut ev = ct.any_read(rng, who.clone(), &ip, ua);
            if rng.random_bool(1.0 / 16.0) {
                let (code, msg) = denied(pop, &who, ev.source, ev.name);
                ev = ev.error(code, msg);
            }
            jobs.push(at, ev);
        }
    }
    jobs.0
}

/// The helpdesk's weekdays (09:00–17:00 UTC) by one administrator, signed in to the console
/// with MFA from the office or home: 2–6 password resets for colleagues (reset required at next
/// sign-in), now and then a lost MFA device deactivated and a new one enabled, 1–3 new hires
/// on Mondays (user, group, first password) and 0–2 contractors offboarded on Fridays.
fn helpdesk(pop: &Population, period: (i64, i64), rng: &mut Rng8) -> Vec<Item<CtEvent>> {
    let mut jobs = Jobs::default();
    let admins: Vec<usize> = (0..pop.iam_users.len())
        .filter(|i| pop.iam_users[*i].admin && pop.iam_users[*i].employee.is_some())
        .collect();
    let people = staff_iam_users(pop);
    let (Some(&idx), false) = (admins.first(), people.is_empty()) else {
        return jobs.0;
    };
    let Some(e) = pop.iam_users[idx].employee.map(|e| &pop.employees[e]) else {
        return jobs.0;
    };
    for day in days(period) {
        let weekday = civil(day).weekday;
        if weekday >= 5 {
            continue;
        }
        // One place per day: the office most days, home on others.
        let ip = pop.employee_ip(rng, e);
        let signed_in = day + 9 * HOUR;
        let who = Who::User {
            idx,
            console: Some((signed_in, true)),
        };
        let mut push = |at: i64, name: &'static str, req: String| {
            if at >= period.0 && at < period.1 {
                let ev = CtEvent::api(
                    who.clone(),
                    "iam.amazonaws.com",
                    name,
                    HOME,
                    &ip,
                    "console.amazonaws.com",
                )
                .req(req);
                jobs.push(at, ev);
            }
        };
        let when = |rng: &mut Rng8| day + 9 * HOUR + rng.random_range(0..7 * 60 + 30) * MIN;
        for _ in 0..rng.random_range(2..=6) {
            let user = *pick(rng, &people);
            push(
                when(rng),
                "UpdateLoginProfile",
                format!("{{\"userName\":\"{user}\",\"passwordResetRequired\":true}}"),
            );
        }
        if rng.random_bool(0.3) {
            let user = *pick(rng, &people);
            let at = when(rng);
            let serial = format!("arn:aws:iam::{}:mfa/{user}", pop.account);
            let req = format!("{{\"userName\":\"{user}\",\"serialNumber\":\"{serial}\"}}");
            push(at, "DeactivateMFADevice", req.clone());
            push(at + rng.random_range(60..600) * SEC, "EnableMFADevice", req);
        }
        let hires = match weekday {
            0 => rng.random_range(1..=3),
            _ => 0,
        };
        for _ in 0..hires {
            let name = format!(
                "{}.{}",
                pick(rng, FIRST_NAMES).to_ascii_lowercase(),
                pick(rng, LAST_NAMES).to_ascii_lowercase()
            );
            let mut at = when(rng);
            push(at, "CreateUser", format!("{{\"userName\":\"{name}\"}}"));
            let group = *pick(rng, &["Developers", "Analysts", "Support"]);
            at += rng.random_range(10..90) * SEC;
            push(
                at,
                "AddUserToGroup",
                format!("{{\"groupName\":\"{group}\",\"userName\":\"{name}\"}}"),
            );
            at += rng.random_range(10..90) * SEC;
            push(
                at,
                "CreateLoginProfile",
                format!("{{\"userName\":\"{name}\",\"passwordResetRequired\":true}}"),
            );
        }
        let leavers = match weekday {
            4 => rng.random_range(0..=2),
            _ => 0,
        };
        for _ in 0..leavers {
            let name = format!("contractor-{}", hex(rng, 4));
            let mut at = when(rng);
            for (call, req) in [
                ("DeleteLoginProfile", format!("{{\"userName\":\"{name}\"}}")),
                (
                    "RemoveUserFromGroup",
                    format!("{{\"groupName\":\"Contractors\",\"userName\":\"{name}\"}}"),
                ),
                ("DeleteUser", format!("{{\"userName\":\"{name}\"}}")),
            ] {
                push(at, call, req);
                at += rng.random_range(10..60) * SEC;
            }
        }
    }
    jobs.0
}

/// Every night from 03:00 UTC the backup service user lists its snapshots, snapshots the volume
/// of each instance (`CreateSnapshot`, a minute or two apart) and deletes the snapshot it took
/// seven nights before (`DeleteSnapshot`), all from one internal address.
fn nightly_snapshots(pop: &Population, period: (i64, i64), rng: &mut Rng8) -> Vec<Item<CtEvent>> {
    let mut jobs = Jobs::default();
    let Some(idx) = pop.iam_users.iter().position(|u| u.name == "svc-backup") else {
        return jobs.0;
    };
    let ip = pick(rng, &pop.internal_ips).clone();
    let ua = pop.iam_users[idx].cli_ua.clone();
    let volumes: Vec<String> = pop
        .instances
        .iter()
        .map(|_| format!("vol-0{}", hex(rng, 16)))
        .collect();
    let who = || Who::User { idx, console: None };
    let mut taken: Vec<Vec<String>> = Vec::new();
    for day in days(period) {
        let mut at = day + 3 * HOUR + rng.random_range(0..10) * MIN;
        let call =
            |at: i64, name: &'static str, req: String, resp: Option<String>, jobs: &mut Jobs| {
                if at >= period.0 && at < period.1 {
                    let mut ev =
                        CtEvent::api(who(), "ec2.amazonaws.com", name, HOME, &ip, &ua).req(req);
                    if let Some(resp) = resp {
                        ev = ev.resp(resp);
                    }
                    jobs.push(at, ev);
                }
            };
        call(
            at,
            "DescribeSnapshots",
            "{\"ownersSet\":{\"items\":[{\"owner\":\"self\"}]}}".into(),
            None,
            &mut jobs,
        );
        let mut tonight = Vec::new();
        for volume in &volumes {
            at += rng.random_range(40..150) * SEC;
            let snap = format!("snap-0{}", hex(rng, 16));
            call(
                at,
                "CreateSnapshot",
                format!("{{\"volumeId\":\"{volume}\",\"description\":\"nightly {volume}\"}}"),
                Some(format!(
                    "{{\"snapshotId\":\"{snap}\",\"volumeId\":\"{volume}\",\"status\":\"pending\"}}"
                )),
                &mut jobs,
            );
            tonight.push(snap);
        }
        if taken.len() >= 7 {
            for snap in taken.remove(0) {
                at += rng.random_range(2..10) * SEC;
                call(
                    at,
                    "DeleteSnapshot",
                    format!("{{\"snapshotId\":\"{snap}\"}}"),
                    None,
                    &mut jobs,
                );
            }
        }
        taken.push(tonight);
    }
    jobs.0
}

/// Nightly exports by the pipeline role and a weekly backup sweep by a service user.
fn pipelines_jobs(
    pop: &Population,
    period: (i64, i64),
    home_events: u64,
    rng: &mut Rng8,
) -> Vec<Item<CtEvent>> {
    let size = scaled(home_events);
    let Some(mut reads) = BulkReads::new(pop, period, false) else {
        return Vec::new();
    };
    // One worker address per job, stable across runs of the job, as a scheduler would have.
    let etl_ip = pick(rng, &pop.internal_ips).clone();
    let backup_ip = pick(rng, &pop.internal_ips).clone();
    let backup_user = pop.iam_users.iter().position(|u| u.name == "svc-backup");
    for day in days(period) {
        // Nightly export: every night from the first, 400–2,500 objects in 10–25 minutes.
        let start = day + HOUR + rng.random_range(0..90) * MIN;
        let n = size(rng.random_range(400..2_500i64));
        let span = rng.random_range(10..25) * MIN;
        let who = |ct: &CtGen, rng: &mut Rng8| ct.role(rng, ROLE_ETL, start);
        reads.run(
            rng,
            (start, n, span),
            who,
            &etl_ip,
            &pop.sdk_ua,
            10_000..40_000_000,
        );
        // Weekly backup sweep on Saturday night by a service user with a long-term key.
        if let Some(idx) = backup_user.filter(|_| civil(day).weekday == 5) {
            let start = day + 22 * HOUR + rng.random_range(0..60) * MIN;
            let n = size(rng.random_range(2_000..6_000i64));
            let span = rng.random_range(40..90) * MIN;
            let ua = pop.iam_users[idx].cli_ua.clone();
            let who = |_: &CtGen, _: &mut Rng8| Who::User { idx, console: None };
            reads.run(
                rng,
                (start, n, span),
                who,
                &backup_ip,
                &ua,
                10_000..80_000_000,
            );
        }
    }
    reads.jobs.0
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    /// One week of each profile's scheduled reads (2024-05-06 is a Monday).
    fn week(profile: Profile) -> Vec<Item<CtEvent>> {
        let mut rng = Rng8::seed_from_u64(7);
        let pop = Population::build(&mut rng);
        let start = 1_714_953_600_000;
        scheduled_ct(
            profile,
            &pop,
            (start, start + 7 * DAY),
            FULL_SCALE as u64,
            &mut rng,
        )
    }

    #[test]
    fn each_profile_has_its_own_schedule() {
        assert!(week(Profile::Office).is_empty());
        let weekend = |items: &[Item<CtEvent>]| items.iter().any(|i| civil(i.t).weekday >= 5);
        let releases = week(Profile::Releases);
        assert!(!releases.is_empty());
        assert!(!weekend(&releases), "release pulls keep to weekdays");
        let research = week(Profile::Research);
        assert!(weekend(&research), "training runs go on at weekends");
        let nodes: std::collections::BTreeSet<&str> =
            research.iter().map(|i| i.ev.ip.as_str()).collect();
        assert!(
            nodes.len() > 1,
            "runs come from several GPU nodes: {nodes:?}"
        );
        let rotation = week(Profile::Rotation);
        assert!(!rotation.is_empty());
        assert!(
            rotation.iter().all(|i| civil(i.t).weekday == 6),
            "Sunday nights only"
        );
        let snapshots = week(Profile::Snapshots);
        assert!(
            snapshots.iter().all(|i| civil(i.t).hour == 3),
            "snapshots run at 03:00"
        );
        assert!(snapshots.iter().any(|i| i.ev.name == "CreateSnapshot"));
        let posture = week(Profile::Posture);
        assert!(
            posture.iter().all(|i| civil(i.t).hour == 1),
            "scans run at 01:00"
        );
        assert!(
            posture.iter().any(|i| i.ev.error.is_some()),
            "a few calls are refused"
        );
        let helpdesk = week(Profile::Helpdesk);
        assert!(
            helpdesk
                .iter()
                .all(|i| civil(i.t).weekday < 5 && (9..17).contains(&civil(i.t).hour)),
            "helpdesk hours: weekdays 09:00-17:00"
        );
        assert!(helpdesk.iter().any(|i| i.ev.name == "UpdateLoginProfile"));
        assert!(helpdesk.iter().any(|i| i.ev.name == "CreateUser"));
        assert_eq!(Profile::from_name("research"), Some(Profile::Research));
        assert_eq!(Profile::from_name("nope"), None);
    }
}
