//! Snapshot tests of every pane and popup at 80x24 and 160x48 (text, via insta), plus style
//! checks on the buffer: themes, severity colours, NO_COLOR, 16 colours, and hostile content
//! shown escaped, never interpreted.

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use ratatui::buffer::Buffer;
use ratatui::style::Color;

use crate::app::fixture;
use crate::app::state::AppState;
use crate::app::update::{Msg, update};

fn render(s: &AppState, w: u16, h: u16) -> Terminal<TestBackend> {
    let mut t = Terminal::new(TestBackend::new(w, h)).expect("terminal");
    t.draw(|f| super::draw(f, s)).expect("draw");
    t
}

fn keys(s: &mut AppState, keys: &str) {
    for c in keys.chars() {
        let code = match c {
            '\n' => KeyCode::Enter,
            '\t' => KeyCode::Tab,
            c => KeyCode::Char(c),
        };
        update(s, Msg::Key(KeyEvent::new(code, KeyModifiers::NONE)));
    }
}

/// The fixture after `input` keys.
fn after(input: &str) -> AppState {
    let mut s = fixture::state(40, 400, false, false);
    keys(&mut s, input);
    fixture::show_event_json(&mut s);
    s
}

fn snap(name: &str, s: &AppState) {
    for (w, h) in [(80, 24), (160, 48)] {
        let t = render(s, w, h);
        insta::assert_snapshot!(format!("{name}_{w}x{h}"), t.backend());
    }
}

#[test]
fn snapshot_overview() {
    snap("overview", &after(""));
}

#[test]
fn snapshot_overview_demo_empty() {
    snap("overview_demo_empty", &fixture::state(0, 0, true, false));
}

#[test]
fn snapshot_alerts() {
    snap("alerts", &after("2jj"));
}

#[test]
fn snapshot_alerts_filtered() {
    snap("alerts_filtered", &after("2/cred\n"));
}

#[test]
fn snapshot_stream_paused() {
    snap("stream_paused", &after("3 kkk"));
}

#[test]
fn snapshot_detail() {
    snap("detail", &after(":alert 1\n"));
}

#[test]
fn snapshot_detail_streaming_draft() {
    snap("detail_draft", &fixture::streaming(after(":alert 1\n\t")));
}

#[test]
fn snapshot_approvals() {
    snap("approvals", &after("4"));
}

#[test]
fn snapshot_actions() {
    snap("actions", &after("5j"));
}

#[test]
fn snapshot_audit() {
    snap("audit", &after("6"));
}

#[test]
fn snapshot_help() {
    snap("help", &after("2?"));
}

#[test]
fn snapshot_confirm_approve() {
    snap("confirm_approve", &after("4a"));
}

#[test]
fn snapshot_confirm_approve_live() {
    let mut s = fixture::state(40, 400, false, true);
    keys(&mut s, "4a");
    snap("confirm_approve_live", &s);
}

#[test]
fn snapshot_reject_reason() {
    snap("reject_reason", &after("4xwrong host"));
}

#[test]
fn snapshot_close_alert() {
    snap("close_alert", &after("2cj"));
}

#[test]
fn snapshot_command_line() {
    snap("command_line", &after(":theme hi"));
}

#[test]
fn snapshot_filter_prompt() {
    snap("filter_prompt", &after("\t/!denied"));
}

#[test]
fn snapshot_error_message() {
    snap("error_message", &after(":nope\n"));
}

#[test]
fn too_small_says_so() {
    let s = after("");
    let t = render(&s, 50, 12);
    insta::assert_snapshot!("too_small_50x12", t.backend());
    let text = text_of(t.backend().buffer());
    assert!(text.contains("Terminal too small") && text.contains("50x12"));
}

fn text_of(buf: &Buffer) -> String {
    let mut out = String::new();
    for y in 0..buf.area.height {
        for x in 0..buf.area.width {
            out.push_str(buf[(x, y)].symbol());
        }
        out.push('\n');
    }
    out
}

/// Every cell whose text is part of `needle` on the first line containing it.
fn cells_of<'a>(buf: &'a Buffer, needle: &str) -> Vec<&'a ratatui::buffer::Cell> {
    let text = text_of(buf);
    for (y, line) in text.lines().enumerate() {
        if let Some(byte) = line.find(needle) {
            let x = line[..byte].chars().count() as u16;
            return (x..x + needle.chars().count() as u16)
                .map(|x| &buf[(x, y as u16)])
                .collect();
        }
    }
    panic!("{needle:?} not on screen:\n{text}");
}

#[test]
fn hostile_log_content_is_shown_escaped_never_interpreted() {
    // Stream, alert queue, detail (explanation, evidence, JSON), approvals, popups.
    for input in ["", "2", "3", ":alert 3\n", ":alert 1\n", "4a", "5"] {
        let s = after(input);
        for (w, h) in [(80, 24), (200, 60)] {
            let t = render(&s, w, h);
            let buf = t.backend().buffer();
            for cell in buf.content() {
                for c in cell.symbol().chars() {
                    assert!(
                        !c.is_control() && !matches!(c as u32, 0x202A..=0x202E | 0x2066..=0x2069),
                        "raw {c:?} reached the screen in view {input:?}"
                    );
                }
            }
        }
    }
    let text = text_of(render(&after("3"), 200, 60).backend().buffer());
    assert!(text.contains("\\x1b[31mroot\\x1b[0m"), "{text}");
    let text = text_of(render(&after(":alert 3\n"), 200, 60).backend().buffer());
    assert!(
        text.contains("invoice\\u202efdp.exe\\x1b]0;pwned\\x07"),
        "{text}"
    );
}

#[test]
fn severity_colours_come_from_the_theme() {
    let s = after("2");
    let t = render(&s, 160, 48);
    let buf = t.backend().buffer();
    for (word, colour) in [
        ("critical", s.theme.severity_critical),
        ("high ", s.theme.severity_high),
        ("medium", s.theme.severity_medium),
    ] {
        let cells = cells_of(buf, &format!(" {word} "));
        assert_eq!(cells[1].fg, colour, "{word}");
    }
}

#[test]
fn live_mode_is_impossible_to_miss() {
    let s = fixture::state(5, 10, false, true);
    let text = text_of(render(&s, 80, 24).backend().buffer());
    assert!(
        text.contains("⚠ LIVE") && !text.contains("SANDBOX"),
        "{text}"
    );
    let t = render(&s, 160, 48);
    let buf = t.backend().buffer();
    let text = text_of(buf);
    assert!(
        text.contains("LIVE: actions run for real") && !text.contains("SANDBOX"),
        "{text}"
    );
    let badge = cells_of(buf, "LIVE: actions run for real");
    assert!(badge.iter().all(|c| c.bg == s.theme.live));
    let sandbox = render(&fixture::state(5, 10, false, false), 80, 24);
    let badge = cells_of(sandbox.backend().buffer(), "SANDBOX");
    assert!(badge.iter().all(|c| c.bg == s.theme.sandbox));
}

#[test]
fn no_color_draws_without_colour_but_keeps_the_selection_visible() {
    let mut s = after("2");
    s.theme = s.theme.clone().without_colour();
    let t = render(&s, 160, 48);
    let buf = t.backend().buffer();
    for cell in buf.content() {
        assert_eq!(
            (cell.fg, cell.bg),
            (Color::Reset, Color::Reset),
            "coloured cell {cell:?}"
        );
    }
    let selected = cells_of(buf, "   4 critical");
    assert!(
        selected[0]
            .modifier
            .contains(ratatui::style::Modifier::REVERSED)
    );
}

#[test]
fn the_16_colour_theme_draws_only_ansi_colours() {
    for input in ["", "2", ":alert 1\n", "4a", "2?"] {
        let mut s = after(input);
        s.theme = crate::app::theme::Theme::shipped("16-colour").expect("theme");
        let t = render(&s, 160, 48);
        for cell in t.backend().buffer().content() {
            for c in [cell.fg, cell.bg] {
                assert!(
                    !matches!(c, Color::Rgb(..) | Color::Indexed(_)),
                    "{c:?} in {input:?}"
                );
            }
        }
    }
}

#[test]
fn every_theme_draws_every_view() {
    for (name, _) in crate::app::theme::SHIPPED {
        for input in ["", "2", "3", ":alert 1\n", "4", "5", "6", "?"] {
            let mut s = after(input);
            s.theme = crate::app::theme::Theme::shipped(name).expect("theme");
            let _ = render(&s, 80, 24);
            let _ = render(&s, 200, 60);
        }
    }
}

#[test]
fn json_evidence_is_highlighted_by_class() {
    let s = after(":alert 1\n");
    let t = render(&s, 200, 60);
    let buf = t.backend().buffer();
    let key = cells_of(buf, "\"status\"");
    assert_eq!(key[1].fg, s.theme.json_key);
    let number = cells_of(buf, "22");
    assert_eq!(number[0].fg, s.theme.json_number);
}

#[test]
fn help_is_generated_from_the_keymap() {
    let mut s = after("2");
    let mut map = s.keymap.clone();
    map.patch(
        "[[alerts]]\non = \"Z\"\nrun = \"acknowledge\"\ndesc = \"Zap-acknowledge\"\n",
        "k.toml",
    )
    .expect("patch");
    s.keymap = map;
    keys(&mut s, "?");
    let text = text_of(render(&s, 160, 48).backend().buffer());
    assert!(text.contains("Zap-acknowledge"), "{text}");
}
