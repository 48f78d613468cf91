//! BM25 over the intel corpus (the `bm25` crate), with a tokenizer that also splits the
//! identifiers security text is full of: `StopLogging` → stop, logging; `brute_force` → brute,
//! force; `T1110.001` stays whole so an exact technique ID is a strong term.

use bm25::{DefaultTokenizer, Language, SearchEngine, SearchEngineBuilder, Tokenizer};

use super::doc::{IntelDoc, is_technique_id};

/// English stemming and stop words from the crate, plus identifier splitting.
#[derive(Debug)]
pub struct SecurityTokenizer {
    english: DefaultTokenizer,
}

impl Default for SecurityTokenizer {
    fn default() -> Self {
        SecurityTokenizer {
            english: DefaultTokenizer::new(Language::English),
        }
    }
}

impl Tokenizer for SecurityTokenizer {
    fn tokenize(&self, input_text: &str) -> Vec<String> {
        let mut expanded = String::with_capacity(input_text.len() + input_text.len() / 4);
        let mut ids = Vec::new();
        for word in input_text.split(|c: char| c.is_whitespace() || c == ',' || c == ';') {
            let word = word.trim_matches(|c: char| !c.is_ascii_alphanumeric());
            if is_technique_id(word) {
                ids.push(word.to_ascii_lowercase());
                continue;
            }
            expanded.push_str(word);
            expanded.push(' ');
            let parts = split_identifier(word);
            if parts.len() > 1 {
                for part in parts {
                    expanded.push_str(part);
                    expanded.push(' ');
                }
            }
        }
        let mut tokens = self.english.tokenize(&expanded);
        tokens.extend(ids);
        tokens
    }
}

/// `StopLogging` → [Stop, Logging]; `brute_force` → [brute, force]; `ListUsers` → [List, Users].
fn split_identifier(word: &str) -> Vec<&str> {
    let mut parts = Vec::new();
    let mut start = 0;
    let bytes = word.as_bytes();
    for i in 1..bytes.len() {
        let (prev, cur) = (bytes[i - 1], bytes[i]);
        if cur == b'_' || cur == b'-' || cur == b'/' || cur == b':' || cur == b'.' {
            if i > start {
                parts.push(&word[start..i]);
            }
            start = i + 1;
        } else if prev.is_ascii_lowercase() && cur.is_ascii_uppercase() && i > start {
            parts.push(&word[start..i]);
            start = i;
        }
    }
    if start < word.len() {
        parts.push(&word[start..]);
    }
    parts
}

/// A BM25 index over documents, identified by their position in the corpus.
pub struct Lexical {
    engine: SearchEngine<u32, u32, SecurityTokenizer>,
}

impl Lexical {
    pub fn build(docs: &[IntelDoc]) -> Lexical {
        let documents: Vec<bm25::Document<u32>> = docs
            .iter()
            .enumerate()
            .map(|(i, d)| bm25::Document::new(i as u32, d.lexical_text()))
            .collect();
        let engine =
            SearchEngineBuilder::<u32, u32, SecurityTokenizer>::with_tokenizer_and_documents(
                SecurityTokenizer::default(),
                documents,
            )
            .build();
        Lexical { engine }
    }

    /// Up to `limit` (document index, BM25 score), best first.
    pub fn search(&self, query: &str, limit: usize) -> Vec<(usize, f32)> {
        self.engine
            .search(query, limit)
            .into_iter()
            .map(|r| (r.document.id as usize, r.score))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identifiers_are_split_and_technique_ids_kept_whole() {
        let t = SecurityTokenizer::default();
        let tokens = t.tokenize("StopLogging by brute_force, see T1562.008");
        for expected in ["stop", "log", "brute", "forc", "t1562.008"] {
            assert!(
                tokens.iter().any(|x| x == expected),
                "{expected} missing from {tokens:?}"
            );
        }
    }

    #[test]
    fn split_identifier_cases() {
        assert_eq!(split_identifier("ListUsers"), ["List", "Users"]);
        assert_eq!(split_identifier("brute_force"), ["brute", "force"]);
        assert_eq!(split_identifier("AWS"), ["AWS"]);
        assert_eq!(split_identifier("s3:GetObject"), ["s3", "Get", "Object"]);
    }
}
