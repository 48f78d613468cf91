//! The driver: a `tokio::select!` over terminal input, pipeline events and a one-second tick;
//! it feeds `update`, performs the effects and draws. Keys are drawn at once (input latency);
//! redraws caused by the pipeline are coalesced to `max_fps`. Generic over the backend and
//! the input stream, so tests drive it headless with `TestBackend` and scripted keys.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use anyhow::Result;
use futures::{Stream, StreamExt};
use ratatui::Terminal;
use ratatui::backend::Backend;
use tokio::sync::mpsc::UnboundedReceiver;

use crate::app::state::AppState;
use crate::app::update::{Effect, Msg, update};
use crate::pipeline::PipelineEvent;

/// Most pipeline events folded in before a redraw (keeps input responsive under a flood).
const DRAIN_BATCH: usize = 512;

/// Where the driver sends engine commands and finds the user's themes.
pub struct Wiring {
    pub commands: crate::pipeline::Commands,
    pub user_themes: Option<PathBuf>,
    pub no_color: bool,
    pub max_fps: u32,
}

/// Run until quit. Returns when the state asks to quit or input ends.
pub async fn drive<B, I>(
    terminal: &mut Terminal<B>,
    state: &mut AppState,
    mut input: I,
    events: &mut UnboundedReceiver<PipelineEvent>,
    wiring: &Wiring,
) -> Result<()>
where
    B: Backend,
    B::Error: std::error::Error + Send + Sync + 'static,
    I: Stream<Item = Msg> + Unpin,
{
    let frame = Duration::from_millis(1000 / u64::from(wiring.max_fps.clamp(1, 120)));
    let mut ticker = tokio::time::interval(Duration::from_secs(1));
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    let mut last_draw = Instant::now() - frame;
    let mut dirty = true;
    let mut events_open = true;
    loop {
        if dirty && last_draw.elapsed() >= frame {
            terminal.draw(|f| super::draw(f, state))?;
            last_draw = Instant::now();
            dirty = false;
        }
        let next_frame = tokio::time::Instant::from_std(last_draw + frame);
        tokio::select! {
            biased;
            msg = input.next() => {
                let Some(msg) = msg else { break };
                let is_key = matches!(msg, Msg::Key(_) | Msg::Resize);
                if perform(state, msg, wiring) {
                    break;
                }
                if is_key {
                    // A key is answered now, whatever the frame budget says.
                    terminal.draw(|f| super::draw(f, state))?;
                    last_draw = Instant::now();
                    dirty = false;
                } else {
                    dirty = true;
                }
            }
            ev = events.recv(), if events_open => {
                match ev {
                    Some(ev) => {
                        let mut quit = perform(state, Msg::Pipeline(ev), wiring);
                        for _ in 0..DRAIN_BATCH {
                            match events.try_recv() {
                                Ok(ev) => quit |= perform(state, Msg::Pipeline(ev), wiring),
                                Err(_) => break,
                            }
                        }
                        if quit {
                            break;
                        }
                        dirty = true;
                    }
                    None => events_open = false,
                }
            }
            _ = ticker.tick() => {
                perform(state, Msg::Tick(chrono::Utc::now()), wiring);
                dirty = true;
            }
            _ = tokio::time::sleep_until(next_frame), if dirty => {}
        }
    }
    Ok(())
}

/// Update, then carry out the effects; true when the console should quit.
pub fn perform(state: &mut AppState, msg: Msg, wiring: &Wiring) -> bool {
    state.detail_lines = super::detail::line_count(state);
    let mut queue = vec![msg];
    let mut quit = false;
    while let Some(msg) = queue.pop() {
        for effect in update(state, msg) {
            match effect {
                Effect::Engine(cmd) => {
                    if wiring.commands.send(cmd).is_err() {
                        crate::app::update::say(
                            state,
                            crate::pipeline::Level::Error,
                            "the engine has stopped; see the last error",
                        );
                    }
                }
                Effect::LoadTheme(name) => {
                    let (theme, err) = crate::app::theme::load(
                        &name,
                        wiring.user_themes.as_deref(),
                        wiring.no_color,
                    );
                    queue.push(Msg::ThemeLoaded(Box::new(theme), err));
                }
                Effect::Quit => quit = true,
            }
        }
    }
    quit
}

/// Terminal key and resize events as messages.
pub fn terminal_input() -> impl Stream<Item = Msg> + Unpin {
    crossterm::event::EventStream::new().filter_map(|ev| {
        std::future::ready(match ev {
            Ok(crossterm::event::Event::Key(k)) => Some(Msg::Key(k)),
            Ok(crossterm::event::Event::Resize(..)) => Some(Msg::Resize),
            _ => None,
        })
    })
}
