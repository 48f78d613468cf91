//! Checks a model's paragraph before anyone sees it, sentence by sentence: technique IDs must
//! exist in ATT&CK and belong to the alert or its retrieved documents; quotes must appear
//! verbatim in the evidence; every named thing (a proper noun or acronym, a CVE, a number, an
//! address, an account or pseudonym) must appear in what the model was given (the alert's
//! facts and retrieved documents); claims that an action was taken, and decision language
//! ("close it", "approve"), are removed. If too much goes, the whole text is rejected.

use std::collections::HashSet;
use std::sync::LazyLock;

use regex::Regex;

pub struct Grounding<'a> {
    /// Every ATT&CK technique ID this store knows.
    pub known_ids: &'a HashSet<String>,
    /// The alert's techniques and those of its retrieved documents.
    pub allowed_ids: &'a HashSet<String>,
    /// Text quotes may come from: evidence excerpts, the alert's description.
    pub evidence: &'a [String],
    /// Everything the model was given (its prompt: facts, evidence, retrieved documents),
    /// lowercased: a named thing must appear in it.
    pub facts: &'a str,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Verified {
    pub text: String,
    pub removed: Vec<String>,
    pub rejected: bool,
}

static TECHNIQUE: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"\bT\d{4}(?:\.\d{3})?\b").expect("technique regex"));
static QUOTE: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r#""([^"]{8,})"|“([^”]{8,})”"#).expect("quote regex"));
static ACTION_TAKEN: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(concat!(
        r"(?i)\b(i|we|autosec)\s+(have\s+|has\s+)?(already\s+)?",
        r"(blocked|locked|disabled|revoked|quarantined|isolated|banned|deleted|removed|reset|rotated|suspended|closed)\b",
        r"|\b(has|have)\s+been\s+(blocked|locked|disabled|revoked|quarantined|isolated|banned|suspended|remediated|contained)\b",
        r"|\bwas\s+(blocked|locked|disabled|revoked|quarantined|isolated|banned|suspended|remediated|contained)\b",
    ))
    .expect("action regex")
});
static DECISION: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(concat!(
        r"(?i)\b(close|dismiss|ignore)\s+(this|the)\s+alert\b|\bapprove\s+(all|every|the|this)\b",
        r"|\bno\s+action\s+(is\s+)?(needed|required)\b|\bis\s+(benign|a\s+false\s+positive|safe)\b",
    ))
    .expect("decision regex")
});

/// A model's reading of the alert's own scores ("the confidence of 0.95 indicates this is not a
/// real threat"). The template states severity, confidence and the anomaly score from
/// structured data; a small model inverts their meaning often (read on 30 alerts: most of the
/// wrong sentences it kept were these), so an interpretation of them is never shown.
static SCORE_READING: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(concat!(
        // Up to the sentence's end; a decimal point ("0.95") does not end it.
        r"(?i)\b(severity|confidence|anomaly\s+score|risk\s+score)\b(?:[^.]|\.\d)*?",
        r"\b(indicat\w*|suggest\w*|means?|meaning|impl(y|ies))\b",
    ))
    .expect("score regex")
});

/// A list marker: `-`, `*`, `•`, `1.`, `2)`.
static LIST_MARKER: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^(?:[-*•]+|\d+[.)])$").expect("list marker regex"));

/// Names, numbers and identifiers: capitalised or acronym words, words with digits or
/// underscores (pseudonyms, CVEs, hosts), dotted numbers (addresses, versions), plain numbers.
static NAMED: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"\b(?:CVE-\d{4}-\d+|\d+(?:[.:]\d+)+|[A-Za-z][\w-]*\d[\w-]*|[A-Za-z]+_[\w-]+|[A-Z][\w&-]*|\d{2,})\b")
        .expect("named regex")
});

/// A word before a noun that says what kind of named thing it is ("the tor browser", "emotet
/// malware", "the lazarus group"): a small model writes such names in lower case, where the
/// capitalisation test in [`NAMED`] does not see them. Not "operation" or "campaign": they
/// follow ordinary words too often ("the download operation").
static KIND_NAMED: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(concat!(
        r"(?i)\b([a-z][\w.-]*)\s+(?:browser|malware|ransomware|trojan|botnet|backdoor|rootkit|worm|",
        r"virus|stealer|loader|exploit\s+kit|framework|toolkit|group|gang|apt)\b",
    ))
    .expect("kind regex")
});

/// Words that may stand before a kind noun without naming anything ("a web browser", "the
/// same group", "the security group"), besides the [`PLAIN_WORDS`].
const KIND_MODIFIERS: &[&str] = &[
    "your",
    "our",
    "same",
    "other",
    "another",
    "known",
    "new",
    "unknown",
    "common",
    "popular",
    "custom",
    "commodity",
    "malicious",
    "suspicious",
    "sophisticated",
    "criminal",
    "threat",
    "hacking",
    "attack",
    "web",
    "remote",
    "access",
    "security",
    "users",
    "admin",
    "administrator",
    "administrators",
    "default",
    "banking",
    "password",
    "credential",
    "ransomware",
    "brute-force",
    "open-source",
    "state-sponsored",
    "is",
    "was",
    "be",
    "with",
];

/// Capitalised words that name nothing in particular (sentence openers, the report's own
/// vocabulary); anything else capitalised must be in the facts.
const PLAIN_WORDS: &[&str] = &[
    "a",
    "an",
    "the",
    "this",
    "that",
    "these",
    "those",
    "it",
    "its",
    "i",
    "we",
    "if",
    "in",
    "on",
    "at",
    "as",
    "by",
    "for",
    "from",
    "to",
    "of",
    "and",
    "or",
    "but",
    "so",
    "then",
    "there",
    "they",
    "their",
    "he",
    "she",
    "one",
    "two",
    "three",
    "many",
    "some",
    "several",
    "each",
    "such",
    "after",
    "before",
    "when",
    "while",
    "because",
    "since",
    "also",
    "however",
    "here",
    "what",
    "which",
    "who",
    "how",
    "why",
    "no",
    "not",
    "all",
    "any",
    "most",
    "more",
    "less",
    "rate",
    "limiting",
    "blocking",
    "review",
    "check",
    "confirm",
    "consider",
    "look",
    "the",
    "attacker",
    "attackers",
    "source",
    "account",
    "user",
    "login",
    "logins",
    "alert",
    "log",
    "logs",
    "evidence",
    "pattern",
    "activity",
    "engineer",
    "analyst",
    "ip",
    "ssh",
    "mitre",
    "att&ck",
    "autosec",
    "utc",
];

/// The first named thing in `s` that the facts do not contain.
fn unsupported_name<'s>(s: &'s str, facts: &str) -> Option<&'s str> {
    unsupported_by_shape(s, facts).or_else(|| unsupported_before_kind(s, facts))
}

/// Names by their shape: capitalised words and acronyms, CVEs, numbers, pseudonyms.
fn unsupported_by_shape<'s>(s: &'s str, facts: &str) -> Option<&'s str> {
    // A bold list label ("**IP Address**: Ensure …") is a heading: its Title Case words, and the
    // first word after it, open like a sentence. Acronyms and digits in it are still names.
    let (label, body) = bold_label(s);
    let title_case = |w: &str| {
        w.split('-')
            .all(|p| p.chars().skip(1).all(|c| c.is_ascii_lowercase()))
    };
    // A list item's first word ("- Verify …", "2. Check …") opens it like a sentence.
    let first_word = body
        .split_whitespace()
        .find(|w| w.chars().any(char::is_alphanumeric) && !LIST_MARKER.is_match(w))
        .unwrap_or("");
    // The tail of a dotted token whose head is judged on its own ("001" of "T1110.001").
    let dotted_tail = |at: usize| {
        let mut back = s[..at].chars().rev();
        back.next() == Some('.') && back.next().is_some_and(char::is_alphanumeric)
    };
    NAMED
        .find_iter(s)
        .filter(|m| !dotted_tail(m.start()))
        .map(|m| m.as_str())
        .find(|name| {
            let technique = TECHNIQUE.is_match(name);
            // A capitalised sentence opener is only a name if it looks like one (ALL CAPS, digits).
            let opener = (*name == first_word.trim_matches(|c: char| !c.is_alphanumeric())
                || label.split_whitespace().any(|w| w.contains(*name)))
                && title_case(name);
            let small_number = name.len() == 1 && name.chars().all(|c| c.is_ascii_digit());
            !technique && !opener && !small_number && unsupported_word(name, &[], facts)
        })
}

/// Names in any case before a kind noun ("the tor browser").
fn unsupported_before_kind<'s>(s: &'s str, facts: &str) -> Option<&'s str> {
    KIND_NAMED
        .captures_iter(s)
        .filter_map(|c| c.get(1))
        .map(|m| m.as_str())
        .find(|word| unsupported_word(word, KIND_MODIFIERS, facts))
}

/// Not a plain word (nor one of `also_plain`), and not in the facts.
fn unsupported_word(word: &str, also_plain: &[&str], facts: &str) -> bool {
    let lower = word.to_ascii_lowercase();
    !PLAIN_WORDS.contains(&lower.as_str())
        && !also_plain.contains(&lower.as_str())
        && !mentions(facts, &lower)
}

/// A leading `**label**` (after any list marker, colon optional) and the rest of the sentence.
fn bold_label(s: &str) -> (&str, &str) {
    let start = s.trim_start_matches(|c: char| c.is_whitespace() || "-*•0123456789.)".contains(c));
    let opened = s.len() - start.len() >= 2 && s[..s.len() - start.len()].ends_with("**");
    match (opened, start.find("**")) {
        (true, Some(end)) => (&start[..end], start[end + 2..].trim_start_matches(':')),
        _ => ("", s),
    }
}

/// `name` occurs in `facts` as a whole token: "1334" is not supported by `ip_address_1334`
/// (a small model turns pseudonyms into made-up addresses that way), nor "ssh" by "sshd".
/// Digits are part of a decimal too: "85" is not supported by "0.85" (a model read a confidence
/// of 0.85 as "a failure rate of 85%").
fn mentions(facts: &str, name: &str) -> bool {
    let word = |c: Option<char>| c.is_some_and(|c| c.is_alphanumeric() || c == '_');
    let digit = |c: Option<char>| c.is_some_and(|c| c.is_ascii_digit());
    facts.match_indices(name).any(|(at, _)| {
        let (before, after) = (&facts[..at], &facts[at + name.len()..]);
        let mut back = before.chars().rev();
        let mut ahead = after.chars();
        let (b1, b2) = (back.next(), back.next());
        let (a1, a2) = (ahead.next(), ahead.next());
        let decimal_before = b1 == Some('.') && digit(b2) && digit(name.chars().next());
        let decimal_after = a1 == Some('.') && digit(a2) && digit(name.chars().next_back());
        !word(b1) && !word(a1) && !decimal_before && !decimal_after
    })
}

/// Every technique-ID-shaped token in `text`.
pub fn technique_ids(text: &str) -> impl Iterator<Item = &str> {
    TECHNIQUE.find_iter(text).map(|m| m.as_str())
}

/// `text` up to its last finished sentence, and the unfinished rest (what a token budget or a
/// timeout cut off mid-sentence: it is never shown, whatever it would have said).
pub fn finished_part(text: &str) -> (&str, &str) {
    let bytes = text.as_bytes();
    let end = (0..bytes.len())
        .rev()
        .find(|&i| matches!(bytes[i], b'.' | b'!' | b'?') && sentence_end(bytes, i))
        .map_or(0, |i| i + 1);
    (text[..end].trim_end(), text[end..].trim())
}

/// A `.`/`!`/`?` at `i` ends a sentence: "T1110.001" and "1.5" do not.
fn sentence_end(bytes: &[u8], i: usize) -> bool {
    bytes.get(i + 1).is_none_or(|b| b.is_ascii_whitespace())
        && !bytes.get(i + 1).is_some_and(u8::is_ascii_digit)
}

/// Sentences in `text`, as the verifier cuts them.
pub fn sentence_count(text: &str) -> usize {
    sentences(text).len()
}

fn sentences(text: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut start = 0;
    let bytes = text.as_bytes();
    for i in 0..bytes.len() {
        let end_here = matches!(bytes[i], b'.' | b'!' | b'?') && sentence_end(bytes, i);
        if end_here || bytes[i] == b'\n' {
            let s = text[start..=i].trim();
            if !s.is_empty() {
                out.push(s);
            }
            start = i + 1;
        }
    }
    let rest = text[start..].trim();
    if !rest.is_empty() {
        out.push(rest);
    }
    out
}

pub fn verify(text: &str, g: &Grounding) -> Verified {
    let mut kept = Vec::new();
    let mut removed = Vec::new();
    let all = sentences(text);
    for s in &all {
        let mut why = None;
        for id in TECHNIQUE.find_iter(s).map(|m| m.as_str()) {
            if !g.known_ids.contains(id) {
                why = Some(format!("invented technique ID {id}"));
                break;
            }
            if !g.allowed_ids.contains(id) {
                why = Some(format!(
                    "technique {id} is not among the alert's techniques or retrieved documents"
                ));
                break;
            }
        }
        if why.is_none() {
            for c in QUOTE.captures_iter(s) {
                let quoted = c.get(1).or(c.get(2)).map_or("", |m| m.as_str());
                if !g.evidence.iter().any(|e| e.contains(quoted)) {
                    why = Some(format!("quote not found in the evidence: \"{quoted}\""));
                    break;
                }
            }
        }
        if why.is_none()
            && let Some(name) = unsupported_name(s, g.facts)
        {
            why = Some(format!(
                "names \"{name}\", which is not in the alert's facts or retrieved documents"
            ));
        }
        if why.is_none() && ACTION_TAKEN.is_match(s) {
            why = Some("claims an action was taken (only the response engine acts)".into());
        }
        if why.is_none() && DECISION.is_match(s) {
            why = Some("decision language (people and policy decide, not the model)".into());
        }
        if why.is_none() && SCORE_READING.is_match(s) {
            why = Some(
                "reads the alert's scores (the template states them; the model's reading is not evidence)"
                    .into(),
            );
        }
        match why {
            Some(w) => removed.push(format!("{w}: {s}")),
            None => kept.push(*s),
        }
    }
    let text = kept.join(" ");
    let rejected = all.is_empty() || removed.len() * 3 > all.len() || text.len() < 40;
    Verified {
        text,
        removed,
        rejected,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(text: &str) -> Verified {
        let known: HashSet<String> = ["T1110", "T1110.001", "T1078", "T1021.004"]
            .map(String::from)
            .into();
        let allowed: HashSet<String> = ["T1110", "T1110.001", "T1021.004"].map(String::from).into();
        let evidence = vec![
            "2024-03-10 12:00:01 sshd_failed_password failure user=root from=IP_ADDRESS_1"
                .to_string(),
        ];
        let facts = format!(
            "{} brute_force high: 40 failed SSH logins for root from IP_ADDRESS_1 in 2 minutes. Password Guessing (T1110.001).",
            evidence[0]
        )
        .to_ascii_lowercase();
        verify(
            text,
            &Grounding {
                known_ids: &known,
                allowed_ids: &allowed,
                evidence: &evidence,
                facts: &facts,
            },
        )
    }

    #[test]
    fn grounded_text_passes() {
        let v = check(
            "IP_ADDRESS_1 failed 40 SSH logins as root in two minutes, which matches T1110.001 password guessing. The log shows \"sshd_failed_password failure user=root\" repeatedly. Rate limiting the source would slow it.",
        );
        assert!(v.removed.is_empty(), "{:?}", v.removed);
        assert!(!v.rejected);
    }

    #[test]
    fn invented_or_unrelated_ids_fake_quotes_and_action_claims_are_removed() {
        let v = check(concat!(
            "Forty failures came from one address in two minutes against root. ",
            "This is typical of T9999.123 tooling. ",
            "It also matches T1078 valid accounts. ",
            "The attacker typed \"let me in please\" into the prompt. ",
            "We have blocked the IP at the firewall. ",
            "The source kept trying many passwords for the same account over SSH."
        ));
        let reasons = v.removed.join("\n");
        assert!(
            reasons.contains("invented technique ID T9999.123"),
            "{reasons}"
        );
        assert!(reasons.contains("T1078 is not among"), "{reasons}");
        assert!(reasons.contains("quote not found"), "{reasons}");
        assert!(reasons.contains("claims an action was taken"), "{reasons}");
        assert!(!v.text.contains("blocked"));
        assert!(v.rejected, "4 of 6 sentences removed");
    }

    #[test]
    fn named_things_the_facts_do_not_hold_are_removed() {
        // What a small model wrote about a real brute-force alert, and was shown as verified.
        let v = check(concat!(
            "IP_ADDRESS_1 failed 40 SSH logins as root in two minutes. ",
            "The engineer should check the IP address 49, which is a known vulnerability in the TOR browser. ",
            "It resembles CVE-2023-38408 in OpenSSH. ",
            "The attempts came from Russia. ",
            "Rate limiting the source would slow the guessing."
        ));
        let reasons = v.removed.join("\n");
        assert!(reasons.contains("names \"49\""), "{v:?}");
        assert!(reasons.contains("CVE-2023-38408"), "{reasons}");
        assert!(reasons.contains("Russia"), "{reasons}");
        assert!(
            v.text.starts_with("IP_ADDRESS_1 failed 40 SSH logins"),
            "{}",
            v.text
        );
        assert!(v.text.contains("Rate limiting"), "{}", v.text);
        assert!(v.rejected, "3 of 5 sentences removed: not shown");
        // Named things the facts hold stay.
        let v = check("Root was the only account tried from IP_ADDRESS_1, 40 times in 2 minutes.");
        assert!(v.removed.is_empty(), "{:?}", v.removed);
        // A pseudonym's number is not an address of its own.
        let v = check("The engineer should check the IP address 1 first.");
        assert!(
            v.removed.is_empty(),
            "single digits are not names: {:?}",
            v.removed
        );
        let v = check("IP_ADDRESS_1 failed 40 SSH logins. Check the IP address 4012 to be sure.");
        assert_eq!(v.removed.len(), 1, "{v:?}");
        assert!(v.removed[0].contains("names \"4012\""), "{:?}", v.removed);
    }

    #[test]
    fn lower_case_names_before_a_kind_noun_are_names_too() {
        let v = check(concat!(
            "IP_ADDRESS_1 failed 40 SSH logins as root in two minutes. ",
            "The address is a known vulnerability in the tor browser. ",
            "The emotet malware spreads this way. ",
            "It looks like the work of the lazarus group. ",
            "A web browser or a brute-force toolkit can send this many logins. ",
            "The same group of attempts hit root only. ",
            "Check the security group in front of the host. ",
            // Seen on held-out output: "operation" and "campaign" follow ordinary words.
            "Look for other logs about the download operation itself."
        ));
        let reasons = v.removed.join("\n");
        assert_eq!(v.removed.len(), 3, "{reasons}");
        for name in ["\"tor\"", "\"emotet\"", "\"lazarus\""] {
            assert!(reasons.contains(name), "{name}: {reasons}");
        }
        assert!(v.text.contains("web browser"), "{}", v.text);
        assert!(v.text.contains("security group"), "{}", v.text);
        // A kind-named thing the facts hold stays.
        let v = check("Only the root group of accounts was tried, 40 times from IP_ADDRESS_1.");
        assert!(v.removed.is_empty(), "{:?}", v.removed);
    }

    #[test]
    fn bold_list_labels_open_like_sentences_and_acronyms_in_them_are_names() {
        // Seen on held-out output: label words were removed as unsupported names.
        let v = check(concat!(
            "IP_ADDRESS_1 failed 40 SSH logins as root in two minutes.\n",
            "1. **IP Address**: Ensure that IP_ADDRESS_1 is the only source.\n",
            "- **User-Agent**: The agent string of the failures should match.\n",
            "**Failed Attempts** Verify how many of the 40 failed.\n",
            "2. **AWS Service Dashboard**: Check if the dashboard is reachable."
        ));
        assert_eq!(v.removed.len(), 1, "{:?}", v.removed);
        assert!(v.removed[0].contains("names \"AWS\""), "{:?}", v.removed);
        assert_eq!(bold_label("- **Note**: Check it."), ("Note", " Check it."));
        assert_eq!(bold_label("40 failed logins."), ("", "40 failed logins."));
    }

    #[test]
    fn the_digits_of_a_decimal_do_not_support_a_number() {
        let facts = "confidence 0.85, 36 of 36 attempts failed, boto3/1.34.41";
        assert!(!mentions(facts, "85"), "a confidence is not a failure rate");
        assert!(!mentions(facts, "0"));
        assert!(mentions(facts, "0.85"));
        assert!(mentions(facts, "36"));
        assert!(mentions(facts, "1.34.41"));
        assert!(!mentions(facts, "34"));
    }

    #[test]
    fn readings_of_the_scores_are_removed_and_plain_statements_stay() {
        let v = check(concat!(
            "The severity is high for 40 failed SSH logins on root. ",
            "The confidence of 0.95 indicates that this is not a real threat. ",
            "A medium severity suggests a high likelihood of compromise. ",
            "Its anomaly score means the attacker knows the system well. ",
            "Check whether any login from IP_ADDRESS_1 succeeded afterwards."
        ));
        let reasons = v.removed.join("\n");
        assert_eq!(v.removed.len(), 3, "{v:?}");
        assert!(reasons.contains("reads the alert's scores"), "{reasons}");
        assert!(v.text.starts_with("The severity is high"), "{}", v.text);
        assert!(v.text.contains("IP_ADDRESS_1 succeeded"), "{}", v.text);
    }

    #[test]
    fn a_decimal_score_does_not_hide_its_reading() {
        // Seen on held-out alerts: the decimal point stopped the match.
        for s in [
            "The confidence score is 0.61, indicating that this is part of a larger incident.",
            "The severity is medium and the confidence level is 0.62, which suggests a high likelihood of success.",
        ] {
            assert!(SCORE_READING.is_match(s), "{s}");
        }
        assert!(
            !SCORE_READING.is_match(
                "The confidence is 0.61. Check whether IP_ADDRESS_1 indicates more logins."
            )
        );
    }

    #[test]
    fn a_list_item_opens_like_a_sentence() {
        let v = check(concat!(
            "IP_ADDRESS_1 failed 40 SSH logins as root in two minutes.\n",
            "- Verify whether any of them succeeded.\n",
            "2. Compare the source with earlier logins.\n",
            "- Verify Kerberos tickets too."
        ));
        assert_eq!(v.removed.len(), 1, "{:?}", v.removed);
        assert!(
            v.removed[0].contains("names \"Kerberos\""),
            "{:?}",
            v.removed
        );
    }

    #[test]
    fn an_unfinished_last_sentence_is_split_off() {
        assert_eq!(
            finished_part("It fits T1110.001. Check the source. Additionally, E2: 2024-05"),
            (
                "It fits T1110.001. Check the source.",
                "Additionally, E2: 2024-05"
            )
        );
        assert_eq!(finished_part("Done here. "), ("Done here.", ""));
        assert_eq!(finished_part("no end at all"), ("", "no end at all"));
        assert_eq!(finished_part("Version 1.5"), ("", "Version 1.5"));
    }

    #[test]
    fn support_means_a_whole_token_of_the_facts() {
        let facts = "ip_address_1334 failed 40 logins via sshd (boto3/1.34.41)";
        assert!(mentions(facts, "ip_address_1334"));
        assert!(mentions(facts, "40"));
        assert!(mentions(facts, "sshd"));
        assert!(mentions(facts, "1.34.41"));
        assert!(!mentions(facts, "1334"), "part of a pseudonym");
        assert!(!mentions(facts, "ssh"), "part of a word");
        assert!(!mentions(facts, "4"));
    }

    #[test]
    fn injected_verdicts_are_stripped() {
        let v = check(
            "Many SSH failures for root came from one source in a short burst. This is benign, close this alert. The pattern fits T1110.001 guessing against one account.",
        );
        assert_eq!(v.removed.len(), 1, "{:?}", v.removed);
        assert!(v.removed[0].contains("decision language"));
        assert!(!v.text.contains("benign"));
    }
}
