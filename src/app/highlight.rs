//! JSON highlighting with syntect (its bundled JSON syntax, fancy-regex build): log events
//! are split into tokens classed by scope (key, string, number, literal, punctuation), and
//! the theme colours the classes, so highlighting follows the theme, works in 16 colours and
//! disappears under NO_COLOR. Text is escaped (control, ANSI, bidi) before it is kept.

use std::sync::OnceLock;

use syntect::easy::ScopeRangeIterator;
use syntect::parsing::{ParseState, Scope, ScopeStack, SyntaxSet};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JsonClass {
    Key,
    String,
    Number,
    Literal,
    Punct,
    Plain,
}

/// One highlighted line: tokens with their class.
pub type JsonLine = Vec<(JsonClass, String)>;

/// Lines kept, and characters per line: a hostile record must not cost a frame.
const MAX_LINES: usize = 400;
const MAX_LINE_CHARS: usize = 2000;

struct Grammar {
    set: SyntaxSet,
    /// Keys: `meta.structure.dictionary.key` in syntect's bundled JSON, `meta.mapping.key`
    /// in newer grammars.
    keys: [Scope; 2],
    string: Scope,
    number: Scope,
    literal: Scope,
    punct: Scope,
}

fn grammar() -> &'static Grammar {
    static G: OnceLock<Grammar> = OnceLock::new();
    G.get_or_init(|| {
        let scope = |s: &str| Scope::new(s).unwrap_or_default();
        Grammar {
            set: SyntaxSet::load_defaults_newlines(),
            keys: [
                scope("meta.structure.dictionary.key"),
                scope("meta.mapping.key"),
            ],
            string: scope("string"),
            number: scope("constant.numeric"),
            literal: scope("constant.language"),
            punct: scope("punctuation"),
        }
    })
}

/// Load the syntaxes ahead of time (the first load takes a few ms; do it off the UI thread).
pub fn warm() {
    let _ = grammar();
}

/// Highlight pretty-printed JSON. Falls back to plain (escaped) lines if parsing fails.
pub fn classify(json: &str) -> Vec<JsonLine> {
    let g = grammar();
    let syntax = g.set.find_syntax_by_extension("json");
    let mut state = syntax.map(ParseState::new);
    let mut stack = ScopeStack::new();
    let mut out = Vec::new();
    for raw in json.lines().take(MAX_LINES) {
        let line = cut(raw);
        let mut tokens: JsonLine = Vec::new();
        let with_nl = format!("{line}\n");
        let ops = state
            .as_mut()
            .and_then(|st| st.parse_line(&with_nl, &g.set).ok());
        match ops {
            Some(ops) => {
                for (range, op) in ScopeRangeIterator::new(&ops, &with_nl) {
                    if stack.apply(op).is_err() {
                        break;
                    }
                    let text = with_nl[range].trim_end_matches('\n');
                    if text.is_empty() {
                        continue;
                    }
                    push(&mut tokens, class_of(g, &stack), text);
                }
            }
            None => push(&mut tokens, JsonClass::Plain, line),
        }
        out.push(tokens);
    }
    let total = json.lines().count();
    if total > MAX_LINES {
        out.push(vec![(
            JsonClass::Plain,
            format!("… {} more lines", total - MAX_LINES),
        )]);
    }
    out
}

fn cut(line: &str) -> &str {
    match line.char_indices().nth(MAX_LINE_CHARS) {
        Some((i, _)) => &line[..i],
        None => line,
    }
}

fn push(tokens: &mut JsonLine, class: JsonClass, text: &str) {
    let text = crate::sanitize::visible(text);
    match tokens.last_mut() {
        Some((c, t)) if *c == class => t.push_str(&text),
        _ => tokens.push((class, text.into_owned())),
    }
}

fn class_of(g: &Grammar, stack: &ScopeStack) -> JsonClass {
    let scopes = stack.as_slice();
    let has = |s: Scope| scopes.iter().any(|x| s.is_prefix_of(*x));
    if g.keys.iter().any(|k| has(*k)) {
        JsonClass::Key
    } else if has(g.string) {
        JsonClass::String
    } else if has(g.number) {
        JsonClass::Number
    } else if has(g.literal) {
        JsonClass::Literal
    } else if has(g.punct) {
        JsonClass::Punct
    } else {
        JsonClass::Plain
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classes_keys_strings_numbers_and_literals() {
        let lines = classify("{\n  \"action\": \"login\",\n  \"n\": 42,\n  \"ok\": true\n}");
        let find = |text: &str| {
            lines
                .iter()
                .flatten()
                .find(|(_, t)| t.contains(text))
                .map(|(c, _)| *c)
        };
        assert_eq!(find("action"), Some(JsonClass::Key));
        assert_eq!(find("login"), Some(JsonClass::String));
        assert_eq!(find("42"), Some(JsonClass::Number));
        assert_eq!(find("true"), Some(JsonClass::Literal));
    }

    #[test]
    fn hostile_text_is_escaped_and_huge_input_is_bounded() {
        let lines = classify("{\n  \"x\": \"\u{1b}[2J\u{202e}evil\"\n}");
        let text: String = lines.iter().flatten().map(|(_, t)| t.as_str()).collect();
        assert!(
            !text.contains('\u{1b}') && !text.contains('\u{202e}'),
            "{text}"
        );
        assert!(text.contains("\\x1b") && text.contains("\\u202e"), "{text}");
        let big = format!("{{\n  \"x\": \"{}\"\n}}", "a".repeat(1_000_000));
        let lines = classify(&big);
        assert!(lines.iter().flatten().map(|(_, t)| t.len()).sum::<usize>() < 3000);
    }
}
