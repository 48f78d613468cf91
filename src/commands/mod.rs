//! Command handlers: each turns parsed arguments into engine calls and prints the result.

mod actions;
mod alerts;
mod api_bench;
mod bus_bench;
mod console;
mod console_bench;
mod eval;
mod fleet;
mod ingest;
mod intel;
mod intel_bench;
mod remote;
mod rules;

pub use crate::pipeline::open::build_responder;
pub use crate::pipeline::open::open_engine;
pub use intel::open_ready as open_intel;

use std::path::PathBuf;

use anyhow::{Context, Result};

use crate::cli::{Cli, Command, ConfigCommand, DatasetsCommand, EvalCommand};
use crate::config::Config;

/// Run a parsed command line; returns the process exit code.
pub fn run(cli: Cli) -> Result<u8> {
    let config = Config::load(cli.config.as_deref())?;
    let data_dir = match &cli.data_dir {
        Some(d) => d.clone(),
        None => crate::config::default_data_dir()?,
    };
    let flags = cli_flags(&cli);
    let Some(command) = cli.command else {
        return console::default_console(&config, &data_dir, &flags);
    };
    match command {
        Command::Console(args) => console::console(&config, &data_dir, &flags, &args),
        Command::Demo(args) => console::demo(&config, &flags, args.speed),
        Command::Serve { listen } => crate::api::serve(
            &config,
            &data_dir,
            flags.privacy,
            flags.live,
            listen.as_deref(),
        ),
        Command::ConsoleBench(args) => console_bench::run(&config, &args),
        Command::ApiBench(args) => api_bench::run(&args),
        Command::Ingest(args) => {
            ingest::ingest(&config, &data_dir, !cli.no_privacy, cli.live, &args)
        }
        Command::Alerts(args) => match remote::owner(&data_dir) {
            Some(owner) => remote::alerts(&owner, &args),
            None => alerts::alerts(&config, &data_dir, &args),
        },
        Command::Eval(EvalCommand::Detect(args)) => eval::detect(&config, &args),
        Command::Eval(EvalCommand::Rag(args)) => eval::rag(&config, &data_dir, &args),
        Command::Intel(cmd) => intel::intel(&config, &data_dir, &cmd),
        Command::Fleet(args) => fleet::fleet(&args),
        Command::BusBench(args) => bus_bench::run(&args),
        Command::Actions(args) => match remote::owner(&data_dir) {
            Some(owner) => remote::actions(&owner, cli.live, &args),
            None => actions::actions(&config, &data_dir, cli.live, &args),
        },
        Command::Audit(cmd) => match remote::owner(&data_dir) {
            Some(owner) => remote::audit(&owner, &cmd),
            None => actions::audit(&config, &data_dir, &cmd),
        },
        Command::Report(args) => actions::report(&config, &data_dir, &args),
        Command::ExplainBench { limit, out } => {
            actions::explain_bench(&config, &data_dir, limit, out.as_deref())
        }
        Command::Explain {
            alert_id,
            json,
            regenerate,
        } => match remote::owner(&data_dir) {
            // The owner's model may queue behind other alerts: wait a little beyond its budget.
            Some(owner) => remote::explain(
                &owner,
                alert_id,
                json,
                regenerate,
                std::time::Duration::from_secs(config.explain.timeout_secs + 60),
            ),
            None => actions::explain(&config, &data_dir, alert_id, json, regenerate),
        },
        Command::Quarantine(args) => ingest::quarantine(&config, &data_dir, &args),
        Command::Datasets(DatasetsCommand::Generate(args)) => generate(&args),
        Command::Rules(cmd) => rules::rules(&config, !cli.no_privacy, &cmd),
        Command::Config(ConfigCommand::Show) => {
            print!("{}", toml::to_string_pretty(&config)?);
            Ok(0)
        }
    }
}

fn cli_flags(cli: &Cli) -> console::Flags {
    console::Flags {
        privacy: !cli.no_privacy,
        live: cli.live,
    }
}

fn generate(args: &crate::cli::GenerateArgs) -> Result<u8> {
    let start = chrono::DateTime::parse_from_rfc3339(&args.start)
        .with_context(|| format!("--start {:?} is not an RFC 3339 time", args.start))?
        .with_timezone(&chrono::Utc);
    let opts = crate::datasets::GenerateOptions {
        out: PathBuf::from(&args.out),
        events: args.events,
        seed: args.seed,
        start,
        days: args.days.max(1),
        attacks_per_scenario: args.attacks,
        benign_only: args.benign,
        profile: crate::datasets::Profile::from_name(&args.profile)
            .with_context(|| format!("unknown profile {:?}", args.profile))?,
    };
    let summary = crate::datasets::generate(&opts)?;
    println!(
        "wrote {} events ({} attack events, {} labels, {:.1} MB) in {} files to {}",
        summary.events,
        summary.attack_events,
        summary.labels,
        summary.bytes as f64 / 1e6,
        summary.files.len(),
        args.out.display()
    );
    Ok(0)
}
