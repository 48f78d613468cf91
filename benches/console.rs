//! Console frame cost: drawing each view at 200x60 from a state that has seen 100,000 events
//! (the stream keeps its 5,000-line ring) and holds 1,000 alerts; plus the reducer's cost of
//! folding in one coalesced batch of stream lines (what ingest at 50k events/s sends ~10
//! times a second).

use std::hint::black_box;
use std::time::Duration;

use autosec::app::fixture;
use autosec::app::update::{Msg, update};
use autosec::pipeline::PipelineEvent;
use criterion::{BatchSize, Criterion, criterion_group, criterion_main};
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use ratatui::Terminal;
use ratatui::backend::TestBackend;

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn keys(s: &mut autosec::app::AppState, input: &str) {
    for c in input.chars() {
        let code = if c == '\n' {
            KeyCode::Enter
        } else {
            KeyCode::Char(c)
        };
        update(s, Msg::Key(KeyEvent::new(code, KeyModifiers::NONE)));
    }
}

fn frames(c: &mut Criterion) {
    let mut group = c.benchmark_group("frame_200x60");
    group.measurement_time(Duration::from_secs(4));
    for (name, input) in [
        ("overview", ""),
        ("overview_stream_filter", "\t/failed|denied\n"),
        ("alerts", "2"),
        ("stream", "3"),
        ("detail", ":alert 1\n"),
        ("approvals", "4"),
        ("audit", "6"),
        ("help", "?"),
    ] {
        let mut state = fixture::state_with(1000, 100_000, 5000, false, false);
        keys(&mut state, input);
        fixture::show_event_json(&mut state);
        let mut terminal = Terminal::new(TestBackend::new(200, 60)).expect("terminal");
        group.bench_function(name, |b| {
            b.iter(|| {
                terminal
                    .draw(|f| autosec::ui::draw(f, black_box(&state)))
                    .expect("draw");
            })
        });
    }
    group.finish();
}

fn reducer(c: &mut Criterion) {
    let mut group = c.benchmark_group("reducer");
    let batch: Vec<_> = (0..5000).map(fixture::line).collect();
    for (name, input) in [
        ("stream_batch_5000", ""),
        ("stream_batch_5000_filtered", "\t/failed\n"),
    ] {
        let mut base = fixture::state_with(1000, 100_000, 5000, false, false);
        keys(&mut base, input);
        group.bench_function(name, |b| {
            b.iter_batched(
                || (base.clone(), batch.clone()),
                |(mut s, lines)| {
                    update(
                        &mut s,
                        Msg::Pipeline(PipelineEvent::Stored {
                            stored: 5000,
                            rejected: 0,
                            lines,
                        }),
                    );
                    s
                },
                BatchSize::LargeInput,
            )
        });
    }
    let base = fixture::state_with(1000, 100_000, 5000, false, false);
    group.bench_function("alert_upsert_1000_queue", |b| {
        b.iter_batched(
            || base.clone(),
            |mut s| {
                update(
                    &mut s,
                    Msg::Pipeline(PipelineEvent::Alert(Box::new(fixture::alert(500)))),
                );
                s
            },
            BatchSize::LargeInput,
        )
    });
    group.finish();
}

criterion_group!(benches, frames, reducer);
criterion_main!(benches);
