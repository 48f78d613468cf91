//! The action catalog: each kind's default tier, what it needs as a target, whether it changes
//! state, and how it is previewed and undone.

use crate::config::{ExecutorConfig, RespondConfig};
use crate::domain::{ActionKind, Rollback, Target, Tier};

/// How a kind is carried out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Runs {
    /// Kept in AutoSec's own store (a flag, a watch entry, a log record).
    Internal,
    /// A configured command (argv) with an inverse.
    Command,
    /// An HTTP POST (Slack-compatible message, Jira-compatible ticket).
    Webhook,
}

pub struct Spec {
    pub tier: Tier,
    pub runs: Runs,
    /// Changes something that must be undone (everything but log/notify/ticket).
    pub changes_state: bool,
    pub describe: &'static str,
}

pub fn spec(kind: ActionKind) -> Spec {
    use ActionKind::*;
    let (tier, runs, changes_state, describe) = match kind {
        LogEvent => (
            Tier::Green,
            Runs::Internal,
            false,
            "record the alert in the audit log",
        ),
        Notify => (
            Tier::Green,
            Runs::Webhook,
            false,
            "notify the on-call channel",
        ),
        CreateTicket => (Tier::Green, Runs::Webhook, false, "open a ticket"),
        IncreaseMonitoring => (
            Tier::Green,
            Runs::Internal,
            true,
            "watch the entity closely (lower detection thresholds) for a period",
        ),
        RateLimitIp => (Tier::Yellow, Runs::Command, true, "rate-limit the IP"),
        FlagAccount => (
            Tier::Yellow,
            Runs::Internal,
            true,
            "flag the account for review",
        ),
        RequireStepUp => (
            Tier::Yellow,
            Runs::Internal,
            true,
            "require step-up authentication for the account",
        ),
        LockAccount => (Tier::Red, Runs::Command, true, "lock the account"),
        RevokeAccessKeys => (
            Tier::Red,
            Runs::Command,
            true,
            "deactivate the account's API access keys",
        ),
        BlockIp => (Tier::Red, Runs::Command, true, "block the IP permanently"),
        IsolateResource => (Tier::Red, Runs::Command, true, "isolate the resource"),
    };
    Spec {
        tier,
        runs,
        changes_state,
        describe,
    }
}

/// The tier a kind gets under `config` (an override, else the default).
pub fn tier(kind: ActionKind, config: &RespondConfig) -> Tier {
    config
        .tiers
        .get(&kind)
        .copied()
        .unwrap_or_else(|| spec(kind).tier)
}

/// The target a kind acts on, from the alert's entity (an IP or an account) and resources.
pub fn target_for(
    kind: ActionKind,
    alert_id: u64,
    entity: &str,
    resources: &[String],
) -> Option<Target> {
    use ActionKind::*;
    let is_ip = super::target::looks_like_ip(entity);
    match kind {
        LogEvent | Notify | CreateTicket => Some(Target::Alert(alert_id)),
        RateLimitIp | BlockIp => is_ip.then(|| Target::Ip(entity.to_string())),
        IncreaseMonitoring => Some(if is_ip {
            Target::Ip(entity.to_string())
        } else {
            Target::Account(entity.to_string())
        }),
        FlagAccount | RequireStepUp | LockAccount | RevokeAccessKeys => {
            (!is_ip).then(|| Target::Account(entity.to_string()))
        }
        IsolateResource => resources
            .iter()
            .find(|r| !r.is_empty())
            .map(|r| Target::Resource(r.clone())),
    }
}

/// What kind of account an alert's entity is, told by where its evidence was logged.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AccountKind {
    /// A local (Unix) account: auth.log/syslog evidence.
    Local,
    /// A cloud principal (IAM user, role session, root): CloudTrail evidence.
    Cloud,
    /// An application's user (JSON lines, CSV): neither a Unix nor a cloud account.
    Application,
    /// No evidence to tell by.
    Unknown,
}

impl AccountKind {
    pub fn of(alert: &crate::domain::Alert) -> AccountKind {
        if alert.evidence.is_empty() {
            return AccountKind::Unknown;
        }
        if alert.evidence.iter().any(|r| r.record_id.is_some()) {
            return AccountKind::Cloud;
        }
        // Syslog resources are `host/program`.
        let syslog = alert
            .affected_resources
            .iter()
            .any(|r| r.contains('/') && !r.starts_with('/') && !r.contains(':'));
        if syslog {
            AccountKind::Local
        } else {
            AccountKind::Application
        }
    }
}

/// Whether `kind` can act on an account of this kind: `lock_account` runs a local command
/// (usermod), `revoke_access_keys` a cloud one; a cloud principal never reaches a local
/// command, nor a Unix account a cloud one.
pub fn fits_account(kind: ActionKind, account: AccountKind) -> bool {
    match kind {
        ActionKind::LockAccount => matches!(account, AccountKind::Local | AccountKind::Unknown),
        ActionKind::RevokeAccessKeys => {
            matches!(account, AccountKind::Cloud | AccountKind::Unknown)
        }
        _ => true,
    }
}

/// Fill a command template: `{target}` and `{duration}` replace whole arguments (or, for
/// `{duration}`, a number inside one, e.g. `{duration}s`); the target never becomes part of a
/// larger string, so it cannot smuggle in options or syntax.
pub fn render_argv(template: &[String], target: &str, duration: Option<u64>) -> Vec<String> {
    template
        .iter()
        .map(|arg| {
            if arg == "{target}" {
                target.to_string()
            } else if arg.contains("{duration}") {
                arg.replace("{duration}", &duration.unwrap_or(0).to_string())
            } else {
                arg.clone()
            }
        })
        .collect()
}

/// Shell-style display of an argv (quoted where needed), for previews only.
pub fn display_argv(argv: &[String]) -> String {
    argv.iter()
        .map(|a| {
            if !a.is_empty()
                && a.chars()
                    .all(|c| c.is_ascii_alphanumeric() || "-_./:=@{}%+,".contains(c))
            {
                a.clone()
            } else {
                format!("'{}'", a.replace('\'', "'\\''"))
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// What running `kind` on `target` would do, with the (pseudonymised) target shown.
pub fn preview(
    kind: ActionKind,
    target: &Target,
    duration: Option<u64>,
    exec: Option<&ExecutorConfig>,
) -> String {
    let s = spec(kind);
    let value = target.value();
    match s.runs {
        Runs::Internal => match duration {
            Some(d) => format!("autosec: {} {value} for {d}s", s.describe),
            None => format!("autosec: {} {value}", s.describe),
        },
        Runs::Webhook => match exec.filter(|e| !e.webhook.is_empty()) {
            // The URL is a secret (Slack and Teams hooks carry their token in it): previews
            // reach sled, the audit log, reports, the console and the API, so name it instead.
            Some(_) => format!(
                "POST to the webhook of respond.executors.{} (JSON: {} about {value})",
                kind.as_str(),
                kind.as_str()
            ),
            None => format!(
                "{}: no webhook configured; recorded in the audit log only",
                s.describe
            ),
        },
        Runs::Command => match exec.filter(|e| !e.command.is_empty()) {
            Some(e) => display_argv(&render_argv(&e.command, &value, duration)),
            None => format!(
                "{} {value}: no command configured for {}",
                s.describe,
                kind.as_str()
            ),
        },
    }
}

/// How `kind` is undone, with the inverse's own preview.
pub fn rollback(kind: ActionKind, target: &Target, exec: Option<&ExecutorConfig>) -> Rollback {
    let s = spec(kind);
    if !s.changes_state {
        return Rollback::None {
            reason: format!("{} changes nothing that could be undone", kind.as_str()),
        };
    }
    let value = target.value();
    let preview = match s.runs {
        Runs::Command => match exec.filter(|e| !e.rollback.is_empty()) {
            Some(e) => display_argv(&render_argv(&e.rollback, &value, None)),
            None => format!(
                "undo {} {value}: no rollback command configured",
                kind.as_str()
            ),
        },
        _ => format!("autosec: remove the {} entry for {value}", kind.as_str()),
    };
    Rollback::Inverse {
        kind: format!("undo_{}", kind.as_str()),
        preview,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_state_changing_kind_has_an_inverse_and_notifications_say_why_not() {
        for kind in ActionKind::ALL {
            let rb = rollback(kind, &Target::Ip("IP_ADDRESS_1".into()), None);
            match (spec(kind).changes_state, rb) {
                (true, Rollback::Inverse { preview, .. }) => assert!(!preview.is_empty()),
                (false, Rollback::None { reason }) => assert!(reason.contains(kind.as_str())),
                (changes, other) => panic!("{kind:?}: changes_state {changes}, rollback {other:?}"),
            }
        }
    }

    #[test]
    fn previews_name_the_webhook_never_its_url() {
        let exec = ExecutorConfig {
            webhook: "https://hooks.example/services/T0K3N".into(),
            ..Default::default()
        };
        for kind in ActionKind::ALL {
            if spec(kind).runs == Runs::Webhook {
                let p = preview(kind, &Target::Ip("IP_ADDRESS_1".into()), None, Some(&exec));
                assert!(!p.contains("T0K3N") && !p.contains("hooks.example"), "{p}");
                assert!(p.contains("respond.executors."), "{p}");
            }
        }
    }

    #[test]
    fn targets_fill_whole_arguments_only() {
        let template: Vec<String> = ["usermod", "--lock", "--", "{target}", "x{target}"]
            .map(String::from)
            .to_vec();
        let argv = render_argv(&template, "-G wheel", None);
        assert_eq!(argv[3], "-G wheel");
        assert_eq!(
            argv[4], "x{target}",
            "no interpolation inside a larger argument"
        );
        assert_eq!(
            display_argv(&argv),
            "usermod --lock -- '-G wheel' x{target}"
        );
    }

    #[test]
    fn tiers_follow_the_seed() {
        assert_eq!(spec(ActionKind::Notify).tier, Tier::Green);
        assert_eq!(spec(ActionKind::RateLimitIp).tier, Tier::Yellow);
        assert_eq!(spec(ActionKind::BlockIp).tier, Tier::Red);
        assert_eq!(spec(ActionKind::LockAccount).tier, Tier::Red);
    }
}
