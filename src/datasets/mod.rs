//! Seeded generator of realistic, labelled security logs (`autosec datasets generate`).
//!
//! One call writes a simulated week of a small company's logs — CloudTrail, auth.log, JSON-lines
//! application logs and CICIDS-style flows — with attack scenarios woven in, plus
//! `labels.jsonl` (one line per attack event) and `manifest.json`. Output is a pure function of
//! the options: the same options give byte-identical files.
//!
//! How it works: a [`population`] of people, IAM principals and hosts is drawn from the seed; the
//! attack plan ([`attacks`]) lays out every scenario instance in advance (they are small); then
//! each output stream is generated independently (its own seeded generator, in parallel), in time
//! order, by the [`engine`] which merges a diurnal benign background with that stream's attack
//! events. Memory stays flat: only one CloudTrail file (≤ 1000 records) is buffered at a time.
//!
//! Label entities: the attacker's IP for brute force, spraying, stuffing and network anomalies;
//! the compromised principal for the rest (IAM user name, assumed-role session ARN, the root ARN,
//! a host account name, or an application user id).

mod app_benign;
mod applog;
mod attacks;
mod attacks_cloud;
mod attacks_host;
mod attacks_login;
mod attacks_recon;
mod auth_benign;
mod authlog;
mod clock;
mod cloud_admin;
mod cloud_benign;
mod cloud_catalog;
mod cloud_machine;
mod cloudtrail;
mod ct_files;
mod engine;
mod flows;
mod linefile;
mod names;
mod population;
mod profile;
mod util;

#[cfg(test)]
pub(crate) mod tests;

use std::collections::BTreeMap;
use std::fs;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

use anyhow::{Context, Result, bail};
use chrono::{DateTime, Utc};
use rand::SeedableRng;
use serde::Serialize;

pub use ct_files::read_records as read_cloudtrail_records;
pub use engine::Scenario;
pub use profile::Profile;

use app_benign::{AppGen, GwGen};
use applog::{AppEvent, AppSink, GwEvent, GwSink};
use attacks::{InstanceInfo, Plan, Planner};
use auth_benign::AuthGen;
use authlog::{AuthLine, AuthSink};
use clock::DAY;
use cloud_benign::{CtGen, REGIONS};
use cloudtrail::CtEvent;
use ct_files::CtSink;
use engine::{Item, Label, StreamOutput};
use flows::{Flow, FlowGen, FlowSink};
use population::Population;
use util::{Rng8, mix64};

/// What to generate.
#[derive(Debug, Clone)]
pub struct GenerateOptions {
    /// Output directory (created if missing).
    pub out: PathBuf,
    /// Total events to write (within about 1%, attacks included).
    pub events: u64,
    pub seed: u64,
    /// Start of the simulated period.
    pub start: DateTime<Utc>,
    /// Length of the simulated period in days (default 7).
    pub days: u32,
    /// Instances of each attack scenario (default 4).
    pub attacks_per_scenario: u32,
    /// A quiet benign period: no attacks, empty labels.
    pub benign_only: bool,
    /// The habits of the benign background (`office` is the development profile).
    pub profile: Profile,
}

impl GenerateOptions {
    /// Defaults: a week from Monday 2024-05-06 00:00 UTC, 4 instances per scenario.
    pub fn new(out: impl Into<PathBuf>, events: u64, seed: u64) -> Self {
        GenerateOptions {
            out: out.into(),
            events,
            seed,
            start: DateTime::from_timestamp(1_714_953_600, 0).unwrap_or(DateTime::UNIX_EPOCH),
            days: 7,
            attacks_per_scenario: 4,
            benign_only: false,
            profile: Profile::Office,
        }
    }
}

/// What was written.
#[derive(Debug, Clone)]
pub struct GenerateSummary {
    /// Every log file (full path under `out`) with its event count, sorted by path.
    pub files: Vec<(PathBuf, u64)>,
    pub events: u64,
    pub attack_events: u64,
    /// Lines in `labels.jsonl` (equals `attack_events`).
    pub labels: u64,
    /// Bytes of log files on disk (compressed size for `.gz`), labels and manifest excluded.
    pub bytes: u64,
}

/// Share of all events per output stream.
const SHARES: [f64; 8] = [
    0.45 * 0.62, // CloudTrail us-east-1
    0.45 * 0.23, // CloudTrail eu-west-1
    0.45 * 0.15, // CloudTrail us-west-2
    0.25 * 0.60, // auth/auth.log
    0.25 * 0.40, // auth/bastion-auth.log
    0.28 * 0.55, // app/app-events.jsonl
    0.28 * 0.45, // app/gateway-ecs.jsonl
    0.02,        // flows/flows.csv
];

enum Job {
    /// One region's CloudTrail over part of the period (the busy home region is split in two
    /// halves so both cores stay busy).
    Ct(usize, (i64, i64), Vec<Item<CtEvent>>),
    Auth(usize, Vec<Item<AuthLine>>),
    App(Vec<Item<AppEvent>>),
    Gw(Vec<Item<GwEvent>>),
    Flows(Vec<Item<Flow>>),
}

impl Job {
    /// Attack items planned for this stream (a profile's scheduled benign items excluded).
    fn attacks(&self) -> u64 {
        fn tagged<E>(v: &[Item<E>]) -> usize {
            v.iter().filter(|i| i.tag.is_some()).count()
        }
        (match self {
            Job::Ct(_, _, v) => tagged(v),
            Job::Auth(_, v) => tagged(v),
            Job::App(v) => tagged(v),
            Job::Gw(v) => tagged(v),
            Job::Flows(v) => tagged(v),
        }) as u64
    }
}

struct Ctx<'a> {
    pop: &'a Population,
    out: &'a Path,
    period: (i64, i64),
    plan_ips: &'a std::collections::BTreeSet<String>,
    profile: Profile,
}

fn stream_targets(events: u64) -> [u64; 8] {
    let mut t = SHARES.map(|s| (events as f64 * s).round() as u64);
    let sum: u64 = t.iter().sum();
    t[0] = (t[0] + events).saturating_sub(sum);
    t
}

/// Generate the dataset described by `opts` into `opts.out`.
pub fn generate(opts: &GenerateOptions) -> Result<GenerateSummary> {
    if opts.days == 0 {
        bail!("days must be at least 1");
    }
    let out = opts.out.as_path();
    // Logs go under `logs/`, apart from labels and manifest, so `autosec ingest DIR/logs` reads
    // only logs; label sources (`auth/auth.log` …) are relative to it and match by suffix.
    let logs = out.join("logs");
    prepare_dirs(&logs)?;
    let start = opts.start.timestamp_millis();
    let period = (start, start + i64::from(opts.days) * DAY);
    let targets = stream_targets(opts.events);

    let pop = Population::build(&mut Rng8::seed_from_u64(mix64(opts.seed)));
    let mut plan = if opts.benign_only {
        Plan::default()
    } else {
        let rng = Rng8::seed_from_u64(mix64(opts.seed ^ 0xa77a_c4ed));
        Planner::new(&pop, rng, opts.events, period, targets[7]).build(opts.attacks_per_scenario)
    };
    let [mut ct0, ct1, ct2] = std::mem::take(&mut plan.ct);
    let mut sched_rng = Rng8::seed_from_u64(mix64(opts.seed ^ 0x5c4e_d01e));
    ct0.extend(profile::scheduled_ct(
        opts.profile,
        &pop,
        period,
        targets[0],
        &mut sched_rng,
    ));
    let [auth0, auth1] = std::mem::take(&mut plan.auth);
    let hours = (period.1 - period.0) / clock::HOUR;
    let mid = period.0 + hours / 2 * clock::HOUR;
    let (first, second): (Vec<_>, Vec<_>) = ct0.into_iter().partition(|item| item.t < mid);
    let first_target =
        (targets[0] as f64 * (hours / 2) as f64 / hours.max(1) as f64).round() as u64;
    let jobs = vec![
        (Job::Ct(0, (period.0, mid), first), first_target),
        (
            Job::Ct(0, (mid, period.1), second),
            targets[0] - first_target,
        ),
        (Job::Ct(1, period, ct1), targets[1]),
        (Job::Ct(2, period, ct2), targets[2]),
        (Job::Auth(0, auth0), targets[3]),
        (Job::Auth(1, auth1), targets[4]),
        (Job::App(std::mem::take(&mut plan.app)), targets[5]),
        (Job::Gw(std::mem::take(&mut plan.gw)), targets[6]),
        (Job::Flows(std::mem::take(&mut plan.flows)), targets[7]),
    ];
    let ctx = Ctx {
        pop: &pop,
        out: &logs,
        period,
        plan_ips: &plan.attacker_ips,
        profile: opts.profile,
    };
    let outputs = run_jobs(&ctx, jobs, opts.seed)?;

    let mut files = Vec::new();
    let mut labels: Vec<Label> = Vec::new();
    for o in outputs {
        files.extend(o.files);
        labels.extend(o.labels);
    }
    files.sort_by(|a, b| a.rel.cmp(&b.rel));
    write_labels(out, &labels)?;
    let summary = GenerateSummary {
        files: files
            .iter()
            .map(|f| (logs.join(&f.rel), f.events))
            .collect(),
        events: files.iter().map(|f| f.events).sum(),
        attack_events: files.iter().map(|f| f.attack_events).sum(),
        labels: labels.len() as u64,
        bytes: files.iter().map(|f| f.bytes).sum(),
    };
    write_manifest(out, opts, &summary, &files, &plan.instances)?;
    Ok(summary)
}

/// Create the output tree and remove CloudTrail files of an earlier run (their names are random,
/// so they would not be overwritten). Nothing else in `out` is touched.
fn prepare_dirs(out: &Path) -> Result<()> {
    for d in ["cloudtrail", "auth", "app", "flows"] {
        let dir = out.join(d);
        fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
    }
    for entry in fs::read_dir(out.join("cloudtrail"))? {
        let path = entry?.path();
        let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
        if name.contains("_CloudTrail_") && (name.ends_with(".json") || name.ends_with(".json.gz"))
        {
            fs::remove_file(&path).with_context(|| format!("removing stale {}", path.display()))?;
        }
    }
    Ok(())
}

/// Run the stream jobs on a few worker threads; results come back in job order.
fn run_jobs(ctx: &Ctx, jobs: Vec<(Job, u64)>, seed: u64) -> Result<Vec<StreamOutput>> {
    let n = jobs.len();
    let slots: Vec<Mutex<Option<(Job, u64)>>> =
        jobs.into_iter().map(|j| Mutex::new(Some(j))).collect();
    let results: Vec<Mutex<Option<Result<StreamOutput>>>> =
        (0..n).map(|_| Mutex::new(None)).collect();
    let next = AtomicUsize::new(0);
    let workers = std::thread::available_parallelism()
        .map_or(2, |p| p.get())
        .clamp(1, n);
    std::thread::scope(|s| {
        for _ in 0..workers {
            s.spawn(|| {
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    if i >= n {
                        break;
                    }
                    let job = slots[i].lock().ok().and_then(|mut g| g.take());
                    let Some((job, target)) = job else { continue };
                    let mut rng = Rng8::seed_from_u64(mix64(seed ^ mix64(i as u64 + 1)));
                    let r = run_job(ctx, job, target, &mut rng);
                    if let Ok(mut slot) = results[i].lock() {
                        *slot = Some(r);
                    }
                }
            });
        }
    });
    let mut outs = Vec::with_capacity(n);
    for (i, r) in results.into_iter().enumerate() {
        let r = r
            .into_inner()
            .ok()
            .flatten()
            .with_context(|| format!("stream {i} did not finish"))?;
        outs.push(r?);
    }
    Ok(outs)
}

fn run_job(ctx: &Ctx, job: Job, target: u64, rng: &mut Rng8) -> Result<StreamOutput> {
    let benign = target.saturating_sub(job.attacks());
    let (pop, out, period) = (ctx.pop, ctx.out, ctx.period);
    match job {
        Job::Ct(r, part, attacks) => {
            let mut sink = CtSink::new(pop, out.join("cloudtrail"), REGIONS[r], rng);
            engine::run(
                part,
                &mut CtGen::new(pop, REGIONS[r]),
                &mut sink,
                attacks,
                benign,
                rng,
            )?;
            sink.finish(rng)
        }
        Job::Auth(h, attacks) => {
            let (rel, host) = if h == 0 {
                ("auth/auth.log", "web-1")
            } else {
                ("auth/bastion-auth.log", "bastion-1")
            };
            let mut sink = AuthSink::create(out, rel, host)?;
            let mut generator =
                AuthGen::new(pop, h, h == 1, ctx.plan_ips, rng).with_typos(ctx.profile.typos());
            engine::run(period, &mut generator, &mut sink, attacks, benign, rng)?;
            sink.finish()
        }
        Job::App(attacks) => {
            let mut sink = AppSink::create(out, "app/app-events.jsonl")?;
            engine::run(
                period,
                &mut AppGen::new(pop),
                &mut sink,
                attacks,
                benign,
                rng,
            )?;
            sink.finish()
        }
        Job::Gw(attacks) => {
            let mut sink = GwSink::create(out, "app/gateway-ecs.jsonl")?;
            engine::run(
                period,
                &mut GwGen::new(pop),
                &mut sink,
                attacks,
                benign,
                rng,
            )?;
            sink.finish()
        }
        Job::Flows(attacks) => {
            let mut sink = FlowSink::create(out, "flows/flows.csv")?;
            let mut generator = FlowGen::new(pop, rng);
            engine::run(period, &mut generator, &mut sink, attacks, benign, rng)?;
            sink.finish()
        }
    }
}

fn write_labels(out: &Path, labels: &[Label]) -> Result<()> {
    let path = out.join("labels.jsonl");
    let mut w = BufWriter::new(
        fs::File::create(&path).with_context(|| format!("creating {}", path.display()))?,
    );
    for l in labels {
        serde_json::to_writer(&mut w, l)?;
        w.write_all(b"\n")?;
    }
    w.flush()?;
    Ok(())
}

#[derive(Serialize)]
struct Manifest<'a> {
    generator: &'static str,
    format_version: u32,
    options: ManifestOptions,
    totals: ManifestTotals,
    files: Vec<ManifestFile<'a>>,
    scenarios: BTreeMap<&'static str, ScenarioCount>,
    instances: &'a [InstanceInfo],
}

#[derive(Serialize)]
struct ManifestOptions {
    events: u64,
    seed: u64,
    start: String,
    days: u32,
    attacks_per_scenario: u32,
    benign_only: bool,
    profile: &'static str,
}

#[derive(Serialize)]
struct ManifestTotals {
    events: u64,
    attack_events: u64,
    labels: u64,
    bytes: u64,
}

#[derive(Serialize)]
struct ManifestFile<'a> {
    path: &'a str,
    events: u64,
    attack_events: u64,
    bytes: u64,
}

#[derive(Serialize, Default)]
struct ScenarioCount {
    instances: u32,
    events: u64,
}

fn write_manifest(
    out: &Path,
    opts: &GenerateOptions,
    s: &GenerateSummary,
    files: &[engine::FileStat],
    instances: &[InstanceInfo],
) -> Result<()> {
    let mut scenarios: BTreeMap<&'static str, ScenarioCount> = Scenario::ALL
        .iter()
        .map(|sc| (sc.as_str(), ScenarioCount::default()))
        .collect();
    for i in instances {
        let c = scenarios.entry(i.scenario.as_str()).or_default();
        c.instances += 1;
        c.events += i.events;
    }
    let manifest = Manifest {
        generator: "autosec datasets generate",
        format_version: 1,
        options: ManifestOptions {
            events: opts.events,
            seed: opts.seed,
            start: opts
                .start
                .to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
            days: opts.days,
            attacks_per_scenario: opts.attacks_per_scenario,
            benign_only: opts.benign_only,
            profile: opts.profile.as_str(),
        },
        totals: ManifestTotals {
            events: s.events,
            attack_events: s.attack_events,
            labels: s.labels,
            bytes: s.bytes,
        },
        files: files
            .iter()
            .map(|f| ManifestFile {
                path: &f.rel,
                events: f.events,
                attack_events: f.attack_events,
                bytes: f.bytes,
            })
            .collect(),
        scenarios,
        instances,
    };
    let path = out.join("manifest.json");
    let mut w = BufWriter::new(
        fs::File::create(&path).with_context(|| format!("creating {}", path.display()))?,
    );
    serde_json::to_writer_pretty(&mut w, &manifest)?;
    w.write_all(b"\n")?;
    w.flush()?;
    Ok(())
}
