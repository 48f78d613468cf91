//! Keymaps: `keymaps/*.toml` (embedded) bind keys to [`KeyAction`]s per context; a user's
//! `keymap.toml` in the config dir patches the chosen one. The help overlay is generated from
//! the same bindings, so it cannot disagree with them.

use std::collections::BTreeMap;

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use serde::{Deserialize, Serialize};

/// Everything a key can ask for. A key never executes a response action: `approve`,
/// `reject` and `rollback` open a confirmation; only its `confirm` sends a decision.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum KeyAction {
    /// Leave the console (the engine stops cleanly).
    Quit,
    /// Show or hide the key help for this view.
    Help,
    /// Open the `:` command line.
    CommandMode,
    /// Filter the focused list with a regex (`!` first inverts it).
    Filter,
    /// Drop the focused list's filter.
    ClearFilter,
    /// Go back (close a popup, leave a detail view).
    Back,
    /// Focus the next pane.
    NextPane,
    /// Focus the previous pane.
    PrevPane,
    /// Move the selection up.
    Up,
    /// Move the selection down.
    Down,
    /// Up one page.
    PageUp,
    /// Down one page.
    PageDown,
    /// First line.
    Top,
    /// Last line.
    Bottom,
    /// Open the selected item.
    Select,
    /// The overview: timeline, alert queue and log stream.
    ViewDashboard,
    /// The alert queue, full screen.
    ViewAlerts,
    /// The log stream, full screen.
    ViewStream,
    /// RED actions waiting for a decision.
    ViewApprovals,
    /// Every response action.
    ViewActions,
    /// The audit chain.
    ViewAudit,
    /// Switch to the next theme.
    NextTheme,
    /// Pause or resume the log stream (ingest continues).
    TogglePause,
    /// Jump to the newest line and keep following.
    Follow,
    /// Sort the alert queue by the next column.
    SortNext,
    /// Reverse the sort order.
    SortReverse,
    /// Acknowledge the selected alert.
    Acknowledge,
    /// Close the selected alert with a reason.
    CloseAlert,
    /// Ask the model for the explanation again.
    Regenerate,
    /// Approve the selected RED action (asks for confirmation).
    Approve,
    /// Reject the selected action (asks for an optional reason).
    Reject,
    /// Roll the selected action back (asks for confirmation).
    Rollback,
    /// Confirm the dialog.
    Confirm,
    /// Cancel the dialog.
    Cancel,
}

/// The contexts a binding can live in; `global` applies everywhere outside popups.
pub const SECTIONS: [&str; 8] = [
    "global",
    "dashboard",
    "stream",
    "alerts",
    "detail",
    "actions",
    "audit",
    "popup",
];

/// One binding as written in a keymap file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Binding {
    pub on: String,
    pub run: KeyAction,
    pub desc: String,
}

/// A keymap: per section, its bindings in file order (the help overlay keeps that order).
#[derive(Debug, Clone, Default)]
pub struct Keymap {
    pub name: String,
    sections: BTreeMap<String, Vec<(KeySpec, Binding)>>,
}

/// A parsed key: code plus modifiers (Shift is folded into the character for letters).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct KeySpec {
    pub code: KeyCode,
    pub mods: KeyModifiers,
}

pub const SHIPPED: [(&str, &str); 2] = [
    ("default", include_str!("../../keymaps/default.toml")),
    ("vim", include_str!("../../keymaps/vim.toml")),
];

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileEntry {
    on: toml::Spanned<String>,
    run: toml::Spanned<String>,
    desc: Option<String>,
}

impl Keymap {
    /// A shipped keymap by name.
    pub fn shipped(name: &str) -> Result<Keymap, String> {
        let (_, text) = SHIPPED.iter().find(|(n, _)| *n == name).ok_or_else(|| {
            format!(
                "no keymap named `{name}` (shipped: {})",
                SHIPPED.map(|(n, _)| n).join(", ")
            )
        })?;
        let mut map = Keymap {
            name: name.to_string(),
            ..Default::default()
        };
        map.patch(text, &format!("keymaps/{name}.toml"))?;
        Ok(map)
    }

    /// Apply a (partial) keymap file: a binding replaces the one on the same key in its
    /// section; `run = "unbind"` removes it. Errors name the file, line and key.
    pub fn patch(&mut self, text: &str, origin: &str) -> Result<(), String> {
        let file: BTreeMap<String, Vec<FileEntry>> = toml::from_str(text).map_err(|e| {
            let line = e.span().map(|s| line_of(text, s.start));
            match line {
                Some(l) => format!("{origin}: line {l}: {}", e.message().trim()),
                None => format!("{origin}: {}", e.message().trim()),
            }
        })?;
        for (section, entries) in file {
            if !SECTIONS.contains(&section.as_str()) {
                return Err(format!(
                    "{origin}: unknown section [{section}] (sections: {})",
                    SECTIONS.join(", ")
                ));
            }
            for entry in entries {
                let at = |span: std::ops::Range<usize>| line_of(text, span.start);
                let key = KeySpec::parse(entry.on.get_ref()).map_err(|e| {
                    format!(
                        "{origin}: line {}: [{section}] key `{}`: {e}",
                        at(entry.on.span()),
                        entry.on.get_ref()
                    )
                })?;
                let list = self.sections.entry(section.clone()).or_default();
                list.retain(|(k, _)| *k != key);
                if entry.run.get_ref() == "unbind" {
                    continue;
                }
                let run: KeyAction = parse_action(entry.run.get_ref()).ok_or_else(|| {
                    format!(
                        "{origin}: line {}: [{section}] key `{}`: unknown action `{}`",
                        at(entry.run.span()),
                        entry.on.get_ref(),
                        entry.run.get_ref()
                    )
                })?;
                let desc = entry.desc.unwrap_or_else(|| entry.run.get_ref().clone());
                list.push((
                    key,
                    Binding {
                        on: entry.on.get_ref().clone(),
                        run,
                        desc,
                    },
                ));
            }
        }
        Ok(())
    }

    /// The action bound to `key` in `section` (then `global`, unless `section` is `popup`).
    pub fn lookup(&self, section: &str, key: &KeyEvent) -> Option<KeyAction> {
        let spec = KeySpec::from_event(key);
        let find = |s: &str| {
            self.sections
                .get(s)?
                .iter()
                .find(|(k, _)| *k == spec)
                .map(|(_, b)| b.run)
        };
        find(section).or_else(|| (section != "popup").then(|| find("global")).flatten())
    }

    /// Bindings of one section, in file order.
    pub fn bindings(&self, section: &str) -> impl Iterator<Item = &Binding> {
        self.sections
            .get(section)
            .into_iter()
            .flatten()
            .map(|(_, b)| b)
    }

    /// The first key bound to `action` in `section` or `global` (for hints like "y confirm").
    pub fn key_for(&self, section: &str, action: KeyAction) -> Option<&str> {
        [section, "global"].into_iter().find_map(|s| {
            self.bindings(s)
                .find(|b| b.run == action)
                .map(|b| b.on.as_str())
        })
    }

    /// Every action bound anywhere.
    pub fn bound_actions(&self) -> std::collections::BTreeSet<KeyAction> {
        self.sections
            .values()
            .flatten()
            .map(|(_, b)| b.run)
            .collect()
    }
}

/// Load the configured keymap patched by the user's file. On a bad user file the shipped map
/// is used and the error returned alongside, for the console to show.
pub fn load(name: &str, user_file: Option<&std::path::Path>) -> (Keymap, Option<String>) {
    let mut map = match Keymap::shipped(name) {
        Ok(m) => m,
        Err(e) => {
            let fallback = Keymap::shipped("default").unwrap_or_default();
            return (fallback, Some(format!("{e}; using the default keymap")));
        }
    };
    let Some(path) = user_file.filter(|p| p.exists()) else {
        return (map, None);
    };
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) => return (map, Some(format!("{}: {e}", path.display()))),
    };
    let mut patched = map.clone();
    match patched.patch(&text, &path.display().to_string()) {
        Ok(()) => map = patched,
        Err(e) => return (map, Some(format!("{e}; using keymap `{name}` unpatched"))),
    }
    (map, None)
}

fn parse_action(s: &str) -> Option<KeyAction> {
    serde_json::from_value(serde_json::Value::String(s.to_string())).ok()
}

fn line_of(text: &str, offset: usize) -> usize {
    text[..offset.min(text.len())].matches('\n').count() + 1
}

impl KeySpec {
    /// `q`, `Q`, `?`, `enter`, `esc`, `tab`, `backtab`, `space`, `up`, `pagedown`, `f1`,
    /// `ctrl-d`, `alt-x` … Hand-written: crossterm has no key-name parser.
    pub fn parse(s: &str) -> Result<KeySpec, String> {
        let mut mods = KeyModifiers::NONE;
        let mut rest = s;
        loop {
            let lower = rest.to_ascii_lowercase();
            if let Some(r) = lower.strip_prefix("ctrl-").filter(|r| !r.is_empty()) {
                mods |= KeyModifiers::CONTROL;
                rest = &rest[rest.len() - r.len()..];
            } else if let Some(r) = lower.strip_prefix("alt-").filter(|r| !r.is_empty()) {
                mods |= KeyModifiers::ALT;
                rest = &rest[rest.len() - r.len()..];
            } else {
                break;
            }
        }
        let code = match rest.to_ascii_lowercase().as_str() {
            "enter" => KeyCode::Enter,
            "esc" => KeyCode::Esc,
            "tab" => KeyCode::Tab,
            "backtab" => KeyCode::BackTab,
            "space" => KeyCode::Char(' '),
            "up" => KeyCode::Up,
            "down" => KeyCode::Down,
            "left" => KeyCode::Left,
            "right" => KeyCode::Right,
            "pageup" => KeyCode::PageUp,
            "pagedown" => KeyCode::PageDown,
            "home" => KeyCode::Home,
            "end" => KeyCode::End,
            "backspace" => KeyCode::Backspace,
            "delete" => KeyCode::Delete,
            f if f.len() >= 2 && f.starts_with('f') && f[1..].parse::<u8>().is_ok() => {
                let n: u8 = f[1..].parse().unwrap_or(1);
                if !(1..=12).contains(&n) {
                    return Err("function keys are f1 to f12".into());
                }
                KeyCode::F(n)
            }
            _ => {
                let mut chars = rest.chars();
                match (chars.next(), chars.next()) {
                    (Some(c), None) if !c.is_control() => {
                        let c = if mods.contains(KeyModifiers::CONTROL) {
                            c.to_ascii_lowercase()
                        } else {
                            c
                        };
                        KeyCode::Char(c)
                    }
                    _ => return Err("not a key name (e.g. `q`, `enter`, `ctrl-d`, `f1`)".into()),
                }
            }
        };
        Ok(KeySpec { code, mods })
    }

    /// What a terminal key event matches: Shift folds into letters (`Q`), BackTab stands alone.
    pub fn from_event(key: &KeyEvent) -> KeySpec {
        let mut mods = key.modifiers & (KeyModifiers::CONTROL | KeyModifiers::ALT);
        let code = match key.code {
            KeyCode::Char(c) if mods.contains(KeyModifiers::CONTROL) => {
                KeyCode::Char(c.to_ascii_lowercase())
            }
            KeyCode::BackTab => {
                mods = KeyModifiers::NONE;
                KeyCode::BackTab
            }
            other => other,
        };
        KeySpec { code, mods }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(code: KeyCode, mods: KeyModifiers) -> KeyEvent {
        KeyEvent::new(code, mods)
    }

    #[test]
    fn every_shipped_keymap_parses_and_binds_every_action() {
        let all: Vec<KeyAction> = serde_json::from_str(ALL_ACTIONS_JSON).unwrap();
        for (name, _) in SHIPPED {
            let map = Keymap::shipped(name).unwrap();
            let bound = map.bound_actions();
            for a in &all {
                assert!(bound.contains(a), "keymap {name} does not bind {a:?}");
            }
        }
    }

    /// Every variant, spelled as in files; a new variant must be added here (the match below
    /// fails to compile otherwise) and then bound in every shipped keymap.
    const ALL_ACTIONS_JSON: &str = r#"["quit","help","command_mode","filter","clear_filter","back",
        "next_pane","prev_pane","up","down","page_up","page_down","top","bottom","select",
        "view_dashboard","view_alerts","view_stream","view_approvals","view_actions","view_audit",
        "next_theme","toggle_pause","follow","sort_next","sort_reverse","acknowledge",
        "close_alert","regenerate","approve","reject","rollback","confirm","cancel"]"#;

    #[test]
    fn the_list_above_is_complete() {
        let all: Vec<KeyAction> = serde_json::from_str(ALL_ACTIONS_JSON).unwrap();
        for a in &all {
            // Exhaustive: adding a variant breaks this until the list is updated.
            match a {
                KeyAction::Quit
                | KeyAction::Help
                | KeyAction::CommandMode
                | KeyAction::Filter
                | KeyAction::ClearFilter
                | KeyAction::Back
                | KeyAction::NextPane
                | KeyAction::PrevPane
                | KeyAction::Up
                | KeyAction::Down
                | KeyAction::PageUp
                | KeyAction::PageDown
                | KeyAction::Top
                | KeyAction::Bottom
                | KeyAction::Select
                | KeyAction::ViewDashboard
                | KeyAction::ViewAlerts
                | KeyAction::ViewStream
                | KeyAction::ViewApprovals
                | KeyAction::ViewActions
                | KeyAction::ViewAudit
                | KeyAction::NextTheme
                | KeyAction::TogglePause
                | KeyAction::Follow
                | KeyAction::SortNext
                | KeyAction::SortReverse
                | KeyAction::Acknowledge
                | KeyAction::CloseAlert
                | KeyAction::Regenerate
                | KeyAction::Approve
                | KeyAction::Reject
                | KeyAction::Rollback
                | KeyAction::Confirm
                | KeyAction::Cancel => {}
            }
        }
        assert_eq!(all.len(), 34);
    }

    #[test]
    fn no_shipped_binding_steals_a_tmux_or_screen_prefix() {
        for (name, _) in SHIPPED {
            let map = Keymap::shipped(name).unwrap();
            for section in SECTIONS {
                for b in map.bindings(section) {
                    let k = KeySpec::parse(&b.on).unwrap();
                    let prefix = k.mods == KeyModifiers::CONTROL
                        && matches!(k.code, KeyCode::Char('a') | KeyCode::Char('b'));
                    assert!(!prefix, "{name} [{section}] binds {}", b.on);
                }
            }
        }
    }

    #[test]
    fn lookup_prefers_the_section_then_global() {
        let map = Keymap::shipped("default").unwrap();
        let a = key(KeyCode::Char('a'), KeyModifiers::NONE);
        assert_eq!(map.lookup("alerts", &a), Some(KeyAction::Acknowledge));
        assert_eq!(map.lookup("actions", &a), Some(KeyAction::Approve));
        let q = key(KeyCode::Char('q'), KeyModifiers::NONE);
        assert_eq!(map.lookup("alerts", &q), Some(KeyAction::Quit));
        // Popups see only their own bindings: `q` does not quit from a confirmation.
        assert_eq!(map.lookup("popup", &q), None);
        let shift_s = key(KeyCode::Char('S'), KeyModifiers::SHIFT);
        assert_eq!(map.lookup("alerts", &shift_s), Some(KeyAction::SortReverse));
        let backtab = key(KeyCode::BackTab, KeyModifiers::SHIFT);
        assert_eq!(map.lookup("alerts", &backtab), Some(KeyAction::PrevPane));
    }

    #[test]
    fn a_user_patch_rebinds_and_unbinds() {
        let mut map = Keymap::shipped("default").unwrap();
        map.patch(
            "[[alerts]]\non = \"K\"\nrun = \"acknowledge\"\ndesc = \"Ack\"\n\n[[alerts]]\non = \"a\"\nrun = \"unbind\"\n",
            "keymap.toml",
        )
        .unwrap();
        let a = key(KeyCode::Char('a'), KeyModifiers::NONE);
        let k = key(KeyCode::Char('K'), KeyModifiers::SHIFT);
        assert_eq!(map.lookup("alerts", &a), None);
        assert_eq!(map.lookup("alerts", &k), Some(KeyAction::Acknowledge));
    }

    #[test]
    fn bad_user_files_name_file_line_and_key() {
        let mut map = Keymap::shipped("default").unwrap();
        let err = map
            .patch(
                "[[alerts]]\non = \"x\"\nrun = \"explode\"\n",
                "/home/u/.config/autosec/keymap.toml",
            )
            .unwrap_err();
        assert!(err.contains("keymap.toml"), "{err}");
        assert!(err.contains("line 3"), "{err}");
        assert!(err.contains("`x`") && err.contains("explode"), "{err}");
        let err = map
            .patch("[[alerts]]\non = \"ctrl-\"\nrun = \"quit\"\n", "k.toml")
            .unwrap_err();
        assert!(err.contains("line 2") && err.contains("ctrl-"), "{err}");
        let err = map
            .patch("[[panes]]\non = \"x\"\nrun = \"quit\"\n", "k.toml")
            .unwrap_err();
        assert!(err.contains("[panes]"), "{err}");
        let err = map.patch("[[alerts]\n", "k.toml").unwrap_err();
        assert!(err.contains("k.toml: line 1"), "{err}");
    }

    #[test]
    fn load_falls_back_to_the_shipped_map_on_a_bad_user_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("keymap.toml");
        std::fs::write(&path, "[[global]]\non = \"q\"\nrun = 3\n").unwrap();
        let (map, err) = load("vim", Some(&path));
        assert_eq!(map.name, "vim");
        let err = err.unwrap();
        assert!(err.contains("keymap.toml: line 3"), "{err}");
        let q = key(KeyCode::Char('q'), KeyModifiers::NONE);
        assert_eq!(map.lookup("global", &q), Some(KeyAction::Quit));
    }

    #[test]
    fn key_names_parse() {
        let k = KeySpec::parse("ctrl-d").unwrap();
        assert_eq!(k.code, KeyCode::Char('d'));
        assert_eq!(k.mods, KeyModifiers::CONTROL);
        assert_eq!(KeySpec::parse("F5").unwrap().code, KeyCode::F(5));
        assert_eq!(KeySpec::parse("space").unwrap().code, KeyCode::Char(' '));
        assert_eq!(KeySpec::parse("-").unwrap().code, KeyCode::Char('-'));
        assert!(KeySpec::parse("f13").is_err());
        assert!(KeySpec::parse("hello").is_err());
        let ev = key(
            KeyCode::Char('D'),
            KeyModifiers::CONTROL | KeyModifiers::SHIFT,
        );
        assert_eq!(KeySpec::from_event(&ev), k);
    }
}
