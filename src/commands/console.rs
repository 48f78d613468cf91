//! `autosec`, `autosec console PATH…` and `autosec demo`: set up the pipeline, the terminal
//! and the state, run the driver, and put the terminal back whatever happens.

use std::io::IsTerminal;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};

use crate::app::state::AppState;
use crate::app::{keymap, theme};
use crate::cli::ConsoleArgs;
use crate::config::Config;
use crate::domain::Format;
use crate::ui::driver::{self, Wiring};
use std::sync::Arc;

use crate::api::client::Control;
use crate::api::remote::RemotePipeline;
use crate::api::{ControlSocket, Metrics, hub};
use crate::pipeline::attached::Attached;
use crate::pipeline::{EngineStatus, Level, Pipeline, PipelineEvent, PipelineOptions, demo::Demo};

/// Global flags that matter to the console.
pub struct Flags {
    pub privacy: bool,
    pub live: bool,
}

/// `autosec` alone: the configured sources, or the demo when there are none.
pub fn default_console(config: &Config, data_dir: &Path, flags: &Flags) -> Result<u8> {
    if let Some(owner) = super::remote::owner(data_dir) {
        return attach(config, owner);
    }
    if config.ingest.sources.is_empty() {
        return demo(config, flags, 1.0);
    }
    let args = ConsoleArgs {
        paths: Vec::new(),
        format: crate::cli::FormatArg::Auto,
        nats: None,
        nats_prefix: String::new(),
    };
    console(config, data_dir, flags, &args)
}

pub fn console(config: &Config, data_dir: &Path, flags: &Flags, args: &ConsoleArgs) -> Result<u8> {
    if let Some(url) = &args.nats {
        return fleet(config, url, &args.nats_prefix);
    }
    if let Some(owner) = super::remote::owner(data_dir) {
        if !args.paths.is_empty() {
            bail!(
                "another process owns {} and follows its own sources; attach without paths (`autosec console`), or use another --data-dir",
                data_dir.display()
            );
        }
        return attach(config, owner);
    }
    let (paths, notices) = sources(config, &args.paths)?;
    if paths.is_empty() {
        bail!(
            "nothing to follow: give paths (autosec console /var/log/auth.log) or configure [[ingest.sources]]; `autosec demo` shows the bundled scenario"
        );
    }
    let format = match args.format.forced() {
        Some(f) => Some(f),
        None => configured_format(config)?,
    };
    let opts = PipelineOptions {
        data_dir: data_dir.to_path_buf(),
        paths,
        format,
        privacy: flags.privacy,
        live: flags.live,
        demo: false,
        stream_lines: config.ui.stream_lines,
        intel_cache: None,
        http_ingest: false,
    };
    let mut config = config.clone();
    if let Some(zone) = configured_zone(&config)? {
        config.ingest.timezone = zone;
    }
    run(config, opts, None, notices)
}

/// The one timezone the configured sources name, if any (read with one setting, like the
/// format).
fn configured_zone(config: &Config) -> Result<Option<String>> {
    let mut zones: Vec<&str> = config
        .ingest
        .sources
        .iter()
        .filter_map(|s| s.timezone.as_deref())
        .collect();
    zones.sort_unstable();
    zones.dedup();
    match zones.as_slice() {
        [] => Ok(None),
        [one] => Ok(Some(one.to_string())),
        _ => bail!(
            "[[ingest.sources]] name different timezones; the console reads every source with one setting: run `autosec ingest --timezone` per source instead"
        ),
    }
}

/// `autosec demo`: the bundled scenario replayed into a temporary dir, always sandboxed.
pub fn demo(config: &Config, flags: &Flags, speed: f64) -> Result<u8> {
    if !(speed > 0.0 && speed.is_finite()) {
        bail!(
            "--speed must be a positive number (1 = {} events/s)",
            config.ui.demo_events_per_sec
        );
    }
    ensure_terminal()?;
    let tmp = tempfile::Builder::new()
        .prefix("autosec-demo-")
        .tempdir()
        .context("cannot create the demo's temporary directory")?;
    let mut config = config.clone();
    // Throwaway keys next to the throwaway store: the demo leaves nothing in the config dir.
    config.key_dir = Some(tmp.path().join("keys"));
    std::fs::create_dir_all(tmp.path().join("keys"))?;
    let logs = tmp.path().join("logs");
    let replay = Demo::load()?.prepare(&logs)?;
    let mut notices = vec![
        "DEMO: a synthetic scenario (datasets/demo) replayed as live logs; responses are sandboxed"
            .to_string(),
    ];
    if flags.live {
        notices.push("--live is ignored in the demo: it always runs in the sandbox".into());
    }
    let opts = PipelineOptions {
        data_dir: tmp.path().join("data"),
        paths: vec![logs.display().to_string()],
        format: None,
        privacy: flags.privacy,
        live: false,
        demo: true,
        stream_lines: config.ui.stream_lines,
        // The demo embeds the bundled corpus once per machine, not once per run.
        intel_cache: directories::ProjectDirs::from("dev", "autosec", "autosec").map(|d| {
            d.cache_dir()
                .join(format!("demo-intel-{}.bin", env!("CARGO_PKG_VERSION")))
        }),
        http_ingest: false,
    };
    let rate = f64::from(config.ui.demo_events_per_sec.max(1)) * speed;
    let code = run(config, opts, Some((replay, rate)), notices)?;
    drop(tmp);
    Ok(code)
}

fn ensure_terminal() -> Result<()> {
    if !std::io::stdout().is_terminal() || !std::io::stdin().is_terminal() {
        bail!(
            "the console needs a terminal (stdin and stdout are not both a tty); for headless use see `autosec ingest --follow`"
        );
    }
    Ok(())
}

/// Restores the terminal when dropped (error paths included); ratatui's panic hook covers
/// panics.
struct TerminalGuard;

impl Drop for TerminalGuard {
    fn drop(&mut self) {
        ratatui::restore();
    }
}

/// The console's look and keys, with what went wrong loading the user's files.
struct Looks {
    theme: theme::Theme,
    themes: Vec<String>,
    keymap: keymap::Keymap,
    user_themes: Option<PathBuf>,
    no_color: bool,
    errors: Vec<String>,
}

fn looks(config: &Config) -> Looks {
    let config_dir = crate::config::config_dir().ok();
    let no_color = theme::no_color_requested();
    let user_themes = config_dir.as_ref().map(|d| d.join("themes"));
    let (theme, theme_err) = theme::load(&config.ui.theme, user_themes.as_deref(), no_color);
    let keymap_file = config_dir.as_ref().map(|d| d.join("keymap.toml"));
    let (keymap, keymap_err) = keymap::load(&config.ui.keymap, keymap_file.as_deref());
    Looks {
        theme,
        themes: theme::names(user_themes.as_deref()),
        keymap,
        user_themes,
        no_color,
        errors: theme_err.into_iter().chain(keymap_err).collect(),
    }
}

impl Looks {
    /// The console's state and wiring, sending its commands to `commands`; plus what went
    /// wrong loading the user's files (to show on screen).
    fn into_console(
        self,
        config: &Config,
        status: EngineStatus,
        commands: crate::pipeline::Commands,
    ) -> (AppState, Wiring, Vec<String>) {
        let state = AppState::new(
            self.theme,
            self.themes,
            self.keymap,
            status,
            config.ui.stream_lines,
            chrono::Utc::now(),
        );
        let wiring = Wiring {
            commands,
            user_themes: self.user_themes,
            no_color: self.no_color,
            max_fps: config.ui.max_fps,
        };
        (state, wiring, self.errors)
    }
}

/// Take over the terminal, drive the console until it quits, put the terminal back.
async fn drive_terminal(
    state: &mut AppState,
    events: &mut tokio::sync::mpsc::UnboundedReceiver<PipelineEvent>,
    wiring: &Wiring,
) -> Result<()> {
    let _guard = TerminalGuard;
    let mut terminal = ratatui::try_init().context("cannot set up the terminal")?;
    driver::drive(
        &mut terminal,
        state,
        driver::terminal_input(),
        events,
        wiring,
    )
    .await
}

fn summary(state: &AppState) {
    println!(
        "autosec: {} events, {} alerts ({} open), {} actions ({} awaiting approval)",
        crate::ui::text::count(state.metrics.events_total),
        state.alerts.len(),
        state.open_alerts(),
        state.actions.len(),
        state.pending_approvals()
    );
}

fn runtime() -> Result<tokio::runtime::Runtime> {
    Ok(tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?)
}

/// The console owning the data dir: the pipeline, its events through the hub, and the
/// control socket so CLI commands and other consoles can join.
fn run(
    config: Config,
    opts: PipelineOptions,
    replay: Option<(crate::pipeline::demo::Replay, f64)>,
    mut notices: Vec<String>,
) -> Result<u8> {
    ensure_terminal()?;
    let rt = runtime()?;
    let code = rt.block_on(async move {
        let looks = looks(&config);
        tokio::task::spawn_blocking(crate::app::highlight::warm);

        let demo_run = opts.demo;
        let mut pipeline = Pipeline::start(&config, opts)?;
        let (local, mut events) = tokio::sync::mpsc::unbounded_channel();
        let (hub, mut fan_out) = hub::start(&mut pipeline, Some(local.clone()));
        let metrics = Arc::new(Metrics::default());
        // The demo never joins a bus: its store is throwaway.
        let bus = if demo_run {
            None
        } else {
            match crate::api::bus::start(&config, &pipeline, &hub, metrics.bus.clone()) {
                Ok(b) => Some(b),
                Err(e) => {
                    notices.push(format!("NATS not started: {e:#}"));
                    None
                }
            }
        };
        let control = match ControlSocket::start(
            &config,
            &pipeline,
            hub.clone(),
            metrics,
            if demo_run { "demo" } else { "console" },
        ) {
            Ok(c) => Some(c),
            Err(e) => {
                notices.push(format!(
                    "no control socket ({e:#}): CLI commands cannot reach this console"
                ));
                None
            }
        };
        let (mut state, wiring, errors) =
            looks.into_console(&config, pipeline.status.clone(), pipeline.commands());
        // Said to this console only, not to attached ones.
        for (level, text) in notices
            .into_iter()
            .map(|n| (Level::Info, n))
            .chain(errors.into_iter().map(|e| (Level::Error, e)))
        {
            let _ = local.send(PipelineEvent::Notice { level, text });
        }
        let replay_task = replay.map(|(replay, rate)| {
            let cancel = pipeline.cancel_token();
            let tx = pipeline.notifier();
            tokio::task::spawn_blocking(move || {
                let result = replay.run(rate, &cancel, |sent, total| {
                    let _ = tx.send(PipelineEvent::DemoProgress { sent, total });
                });
                if let Err(e) = result {
                    let _ = tx.send(PipelineEvent::Notice {
                        level: Level::Error,
                        text: format!("demo replay stopped: {e:#}"),
                    });
                }
            })
        });

        let result = drive_terminal(&mut state, &mut events, &wiring).await;
        let t0 = std::time::Instant::now();
        let mark = |what: &str| {
            if std::env::var_os("AUTOSEC_TRACE_QUIT").is_some() {
                eprintln!("quit: {what} at {:?}", t0.elapsed());
            }
        };
        hub.close();
        if let Some(c) = control {
            let _ = c.finish().await;
        }
        mark("control closed");
        if let Some(bus) = bus {
            bus.stop().await;
            mark("bus stopped");
        }
        pipeline.shutdown().await;
        mark("pipeline stopped");
        // The fan-out ends when every sender is gone; model work left behind still holds
        // one, and nothing it would say has anyone to read it now.
        if tokio::time::timeout(std::time::Duration::from_millis(100), &mut fan_out)
            .await
            .is_err()
        {
            fan_out.abort();
        }
        mark("fan-out done");
        if let Some(t) = replay_task {
            let _ = t.await;
        }
        mark("replay done");
        result?;
        summary(&state);
        Ok(0)
    });
    // Dropping a runtime waits for every blocking task; model work left behind by
    // `Pipeline::shutdown` (an embedding batch, an LLM paragraph) must not hold the exit.
    rt.shutdown_timeout(std::time::Duration::from_millis(100));
    code
}

/// A second console: another process owns the data dir, so this one shows its pipeline and
/// sends decisions to it through the control socket.
fn attach(config: &Config, control: Control) -> Result<u8> {
    ensure_terminal()?;
    runtime()?.block_on(async move {
        let remote = RemotePipeline::attach(control).await?;
        let owner = remote.status.attached.clone().unwrap_or_default();
        let mode = if remote.status.live {
            "LIVE"
        } else {
            "SANDBOX"
        };
        let intro = format!(
            "attached to {}: decisions run there (its mode: {mode})",
            crate::sanitize::visible(&owner)
        );
        drive_attached(config, remote, intro).await
    })
}

/// `autosec console --nats URL`: the fleet's merged queues; decisions go to the owners.
fn fleet(config: &Config, url: &str, prefix: &str) -> Result<u8> {
    ensure_terminal()?;
    runtime()?.block_on(async move {
        let wait = std::time::Duration::from_millis(1000);
        let fleet = crate::bus::remote::FleetPipeline::attach(url, prefix, wait).await?;
        let intro = format!(
            "{}: decisions run on the engine that owns the action",
            crate::sanitize::visible(fleet.status.attached.as_deref().unwrap_or("fleet"))
        );
        drive_attached(config, fleet, intro).await
    })
}

/// Run the console over an engine elsewhere until the person quits.
async fn drive_attached(config: &Config, mut far: Attached, intro: String) -> Result<u8> {
    let looks = looks(config);
    tokio::task::spawn_blocking(crate::app::highlight::warm);
    let (mut state, wiring, errors) =
        looks.into_console(config, far.status.clone(), far.commands());
    let notifier = far.notifier();
    let said =
        std::iter::once((Level::Info, intro)).chain(errors.into_iter().map(|e| (Level::Error, e)));
    for (level, text) in said {
        let _ = notifier.send(PipelineEvent::Notice { level, text });
    }
    let result = drive_terminal(&mut state, &mut far.events, &wiring).await;
    far.detach();
    result?;
    summary(&state);
    Ok(0)
}

/// Paths to follow: the arguments, then `[[ingest.sources]]`; globs are expanded (new files
/// appear through followed directories, not through globs).
fn sources(config: &Config, args: &[String]) -> Result<(Vec<String>, Vec<String>)> {
    let mut paths = Vec::new();
    let mut notices = Vec::new();
    let configured = config.ingest.sources.iter().map(|s| s.path.clone());
    for p in args.iter().cloned().chain(configured) {
        if p.contains(['*', '?', '[']) {
            let matches: Vec<PathBuf> = glob::glob(&p)
                .with_context(|| format!("bad glob {p:?}"))?
                .filter_map(Result::ok)
                .collect();
            if matches.is_empty() {
                notices.push(format!("{p}: the glob matches nothing yet"));
            }
            paths.extend(matches.into_iter().map(|m| m.display().to_string()));
        } else {
            paths.push(p);
        }
    }
    paths.dedup();
    Ok((paths, notices))
}

/// The one format of the configured sources, if they name one (the pipeline reads all
/// sources with one setting).
fn configured_format(config: &Config) -> Result<Option<Format>> {
    let mut formats: Vec<&str> = config
        .ingest
        .sources
        .iter()
        .map(|s| s.format.as_str())
        .filter(|f| *f != "auto")
        .collect();
    formats.dedup();
    match formats.as_slice() {
        [] => Ok(None),
        [one] => match Format::parse(one) {
            Some(f) => Ok(Some(f)),
            None => bail!(
                "[[ingest.sources]] format = {one:?}: use auto, cloudtrail, syslog, jsonl or csv"
            ),
        },
        _ => bail!(
            "[[ingest.sources]] name different formats; the console reads every source with one setting: use format = \"auto\" (detected per file)"
        ),
    }
}
