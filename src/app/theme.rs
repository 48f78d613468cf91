//! Themes: `themes/*.toml` (embedded) name colours by meaning (`severity_high`, `muted`,
//! `approval_pending` …), never by widget. A user theme in `<config dir>/themes/NAME.toml`
//! patches the shipped one of that name (or `dark`). `NO_COLOR` drops every colour and keeps
//! the modifiers (bold, reverse), so selection and the LIVE banner stay visible.

use std::str::FromStr;

use ratatui::style::{Color, Modifier, Style};

pub const SHIPPED: [(&str, &str); 4] = [
    ("dark", include_str!("../../themes/dark.toml")),
    ("light", include_str!("../../themes/light.toml")),
    (
        "high-contrast",
        include_str!("../../themes/high-contrast.toml"),
    ),
    ("16-colour", include_str!("../../themes/16-colour.toml")),
];

macro_rules! theme_keys {
    ($($(#[$doc:meta])* $key:ident),* $(,)?) => {
        /// Colours by meaning. Every key is required in a shipped theme.
        #[derive(Debug, Clone, PartialEq)]
        pub struct Theme {
            pub name: String,
            /// True when `NO_COLOR` is set: styles keep only modifiers.
            pub monochrome: bool,
            $($(#[$doc])* pub $key: Color,)*
        }

        /// Every key a theme file may set.
        pub const KEYS: &[&str] = &[$(stringify!($key)),*];

        impl Theme {
            fn set(&mut self, key: &str, c: Color) -> bool {
                match key {
                    $(stringify!($key) => self.$key = c,)*
                    _ => return false,
                }
                true
            }

            fn blank(name: &str) -> Theme {
                Theme { name: name.to_string(), monochrome: false, $($key: Color::Reset,)* }
            }
        }
    };
}

theme_keys! {
    /// Ordinary text.
    fg,
    /// The background everything is drawn on.
    bg,
    /// Secondary text: timestamps, hints, column headers.
    muted,
    border,
    border_focused,
    title,
    /// The selected row's background.
    selection_bg,
    selection_fg,
    severity_low,
    severity_medium,
    severity_high,
    severity_critical,
    /// Log lines by outcome.
    status_success,
    status_failed,
    status_denied,
    status_unknown,
    tier_green,
    tier_yellow,
    tier_red,
    /// RED actions waiting for a decision.
    approval_pending,
    /// The LIVE banner (real commands will run): impossible to miss.
    live,
    sandbox,
    privacy_on,
    privacy_off,
    /// The DEMO DATA label.
    demo,
    info,
    warn,
    error,
    ok,
    /// Filter matches and the command line.
    accent,
    /// The events/s sparkline.
    spark_events,
    /// Model-written text (labelled as such).
    generated,
    /// Evidence that reads like instructions (shown as evidence, never followed).
    flagged,
    json_key,
    json_string,
    json_number,
    json_literal,
    json_punct,
}

impl Theme {
    /// A shipped theme by name.
    pub fn shipped(name: &str) -> Result<Theme, String> {
        let (_, text) = SHIPPED.iter().find(|(n, _)| *n == name).ok_or_else(|| {
            format!(
                "no theme named `{name}` (shipped: {})",
                SHIPPED.map(|(n, _)| n).join(", ")
            )
        })?;
        let mut theme = Theme::blank(name);
        let set = theme.patch(text, &format!("themes/{name}.toml"))?;
        if let Some(missing) = KEYS.iter().find(|k| !set.contains(&k.to_string())) {
            return Err(format!("themes/{name}.toml: missing key `{missing}`"));
        }
        Ok(theme)
    }

    /// Apply a theme file's keys; returns the keys it set. Errors name file, line and key.
    pub fn patch(&mut self, text: &str, origin: &str) -> Result<Vec<String>, String> {
        let table: toml::Spanned<toml::Table> =
            toml::from_str(text).map_err(|e| match e.span() {
                Some(s) => format!(
                    "{origin}: line {}: {}",
                    line_of(text, s.start),
                    e.message().trim()
                ),
                None => format!("{origin}: {}", e.message().trim()),
            })?;
        // Spans of individual keys: toml::Table drops them, so find each key's line by text.
        let mut set = Vec::new();
        for (key, value) in table.get_ref() {
            let line = key_line(text, key);
            let Some(colour) = value.as_str() else {
                return Err(format!(
                    "{origin}: line {line}: `{key}` must be a colour string"
                ));
            };
            let c = Color::from_str(colour).map_err(|_| {
                format!(
                    "{origin}: line {line}: `{key}`: `{colour}` is not a colour (a name like `red` or `light-blue`, `#rrggbb`, or 0-255)"
                )
            })?;
            if !self.set(key, c) {
                return Err(format!("{origin}: line {line}: unknown key `{key}`"));
            }
            set.push(key.clone());
        }
        Ok(set)
    }

    /// Drop all colour (NO_COLOR): every style keeps its modifiers only.
    pub fn without_colour(mut self) -> Theme {
        for key in KEYS {
            self.set(key, Color::Reset);
        }
        self.monochrome = true;
        self
    }

    /// Foreground style in colour `c` (nothing under NO_COLOR).
    pub fn fg(&self, c: Color) -> Style {
        if self.monochrome {
            Style::default()
        } else {
            Style::default().fg(c)
        }
    }

    pub fn text(&self) -> Style {
        self.fg(self.fg)
    }

    pub fn muted(&self) -> Style {
        self.fg(self.muted)
    }

    /// The base style of the whole screen.
    pub fn base(&self) -> Style {
        if self.monochrome {
            Style::default()
        } else {
            Style::default().fg(self.fg).bg(self.bg)
        }
    }

    pub fn selected(&self) -> Style {
        if self.monochrome {
            Style::default().add_modifier(Modifier::REVERSED)
        } else {
            Style::default()
                .fg(self.selection_fg)
                .bg(self.selection_bg)
                .add_modifier(Modifier::BOLD)
        }
    }

    pub fn border(&self, focused: bool) -> Style {
        if focused {
            self.fg(self.border_focused).add_modifier(Modifier::BOLD)
        } else {
            self.fg(self.border)
        }
    }

    /// A label drawn as a solid badge (LIVE, SANDBOX, PRIVACY …): reversed under NO_COLOR.
    pub fn badge(&self, c: Color) -> Style {
        if self.monochrome {
            Style::default().add_modifier(Modifier::REVERSED | Modifier::BOLD)
        } else {
            Style::default()
                .fg(self.bg)
                .bg(c)
                .add_modifier(Modifier::BOLD)
        }
    }
}

/// The configured theme patched by the user's file, with NO_COLOR applied. On a bad name or
/// file the shipped `dark` theme is used and the error returned for the console to show.
pub fn load(
    name: &str,
    user_dir: Option<&std::path::Path>,
    no_color: bool,
) -> (Theme, Option<String>) {
    let (theme, err) = resolve(name, user_dir);
    let theme = if no_color {
        theme.without_colour()
    } else {
        theme
    };
    (theme, err)
}

fn resolve(name: &str, user_dir: Option<&std::path::Path>) -> (Theme, Option<String>) {
    let user = user_dir
        .map(|d| d.join(format!("{name}.toml")))
        .filter(|p| p.exists());
    let base = Theme::shipped(name);
    let Some(path) = user else {
        return match base {
            Ok(t) => (t, None),
            Err(e) => (dark(), Some(format!("{e}; using `dark`"))),
        };
    };
    let mut theme = base.unwrap_or_else(|_| dark());
    theme.name = name.to_string();
    let text = match std::fs::read_to_string(&path) {
        Ok(t) => t,
        Err(e) => {
            return (
                dark(),
                Some(format!("{}: {e}; using `dark`", path.display())),
            );
        }
    };
    match theme.patch(&text, &path.display().to_string()) {
        Ok(_) => (theme, None),
        Err(e) => (dark(), Some(format!("{e}; using `dark`"))),
    }
}

fn dark() -> Theme {
    Theme::shipped("dark").unwrap_or_else(|_| Theme::blank("dark"))
}

/// Names to cycle through with `next_theme`: shipped, then the user's.
pub fn names(user_dir: Option<&std::path::Path>) -> Vec<String> {
    let mut names: Vec<String> = SHIPPED.iter().map(|(n, _)| n.to_string()).collect();
    if let Some(dir) = user_dir
        && let Ok(entries) = std::fs::read_dir(dir)
    {
        let mut extra: Vec<String> = entries
            .filter_map(Result::ok)
            .filter_map(|e| {
                let p = e.path();
                (p.extension()? == "toml").then(|| p.file_stem()?.to_str().map(str::to_string))?
            })
            .filter(|n| !names.contains(n))
            .collect();
        extra.sort();
        names.extend(extra);
    }
    names
}

/// Whether `NO_COLOR` asks for no colour (set and non-empty, per no-color.org).
pub fn no_color_requested() -> bool {
    std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty())
}

fn line_of(text: &str, offset: usize) -> usize {
    text[..offset.min(text.len())].matches('\n').count() + 1
}

fn key_line(text: &str, key: &str) -> usize {
    text.lines()
        .position(|l| {
            let t = l.trim_start();
            t.strip_prefix(key)
                .is_some_and(|r| r.trim_start().starts_with('='))
        })
        .map_or(0, |i| i + 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_shipped_theme_parses_and_sets_every_key() {
        for (name, _) in SHIPPED {
            let t = Theme::shipped(name).unwrap();
            assert_eq!(t.name, name);
        }
    }

    #[test]
    fn the_16_colour_theme_uses_only_the_16_ansi_colours() {
        let (name, text) = SHIPPED[3];
        assert_eq!(name, "16-colour");
        for line in text.lines().filter(|l| l.contains('=')) {
            let value = line.split('=').nth(1).unwrap().trim().trim_matches('"');
            let c = Color::from_str(value).unwrap();
            assert!(
                !matches!(c, Color::Rgb(..) | Color::Indexed(_)),
                "16-colour theme uses {value}"
            );
        }
    }

    #[test]
    fn severities_are_distinct_in_every_theme() {
        for (name, _) in SHIPPED {
            let t = Theme::shipped(name).unwrap();
            let sev = [
                t.severity_low,
                t.severity_medium,
                t.severity_high,
                t.severity_critical,
            ];
            for i in 0..sev.len() {
                for j in i + 1..sev.len() {
                    assert_ne!(
                        sev[i], sev[j],
                        "{name}: severities {i} and {j} share a colour"
                    );
                }
            }
            assert_ne!(t.live, t.sandbox, "{name}: LIVE must not look like SANDBOX");
        }
    }

    #[test]
    fn no_color_keeps_modifiers_only() {
        let t = Theme::shipped("dark").unwrap().without_colour();
        assert_eq!(t.fg(t.severity_high), Style::default());
        assert!(t.selected().add_modifier.contains(Modifier::REVERSED));
        assert_eq!(t.badge(t.live).fg, None);
    }

    #[test]
    fn user_theme_patches_and_bad_ones_fall_back_with_a_located_error() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("dark.toml"),
            "# mine\nseverity_high = \"#ff00ff\"\n",
        )
        .unwrap();
        let (t, err) = load("dark", Some(dir.path()), false);
        assert!(err.is_none(), "{err:?}");
        assert_eq!(t.severity_high, Color::Rgb(255, 0, 255));
        assert_eq!(t.severity_low, Theme::shipped("dark").unwrap().severity_low);

        std::fs::write(
            dir.path().join("mine.toml"),
            "fg = \"white\"\n\nsevrity_high = \"red\"\n",
        )
        .unwrap();
        let (t, err) = load("mine", Some(dir.path()), false);
        let err = err.unwrap();
        assert!(
            err.contains("mine.toml: line 3: unknown key `sevrity_high`"),
            "{err}"
        );
        assert_eq!(t.name, "dark");

        std::fs::write(dir.path().join("bad.toml"), "fg = \"blurple\"\n").unwrap();
        let (_, err) = load("bad", Some(dir.path()), false);
        assert!(
            err.unwrap()
                .contains("line 1: `fg`: `blurple` is not a colour")
        );
        assert!(names(Some(dir.path())).contains(&"mine".to_string()));
    }
}
