//! Linux `auth.log` in classic RFC 3164 form (`Mar  5 06:25:01 web-1 sshd[1234]: …`): the line
//! type, the messages OpenSSH, sudo, su, PAM, cron and systemd-logind write, and the file writer.

use std::path::Path;

use anyhow::Result;
use rand::Rng;

use super::clock::put_syslog;
use super::engine::{Sink, StreamOutput, Tag};
use super::linefile::LineFile;
use super::util::{Put, Rng8};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Prog {
    Sshd,
    Sudo,
    Su,
    Cron,
    Logind,
}

/// One syslog line before the timestamp and host are added.
#[derive(Debug, Clone)]
pub(crate) struct AuthLine {
    pub prog: Prog,
    pub pid: u32,
    pub msg: String,
}

impl AuthLine {
    pub fn new(prog: Prog, pid: u32, msg: String) -> AuthLine {
        AuthLine { prog, pid, msg }
    }
}

/// A process id plausible for a process started at `t` on host `host`: pids grow with time
/// (about one per second) and wrap, so lines from attacks and background interleave naturally.
pub(crate) fn pid_at(host: usize, t: i64, rng: &mut Rng8) -> u32 {
    let base = (t / 1000).rem_euclid(3_000_000) as u32;
    1200 + (base + host as u32 * 777_777) % 3_000_000 + rng.random_range(0..60)
}

/// An ephemeral client port.
pub(crate) fn port(rng: &mut Rng8) -> u16 {
    if rng.random_bool(0.7) {
        rng.random_range(32768..61000)
    } else {
        rng.random_range(49152..65535)
    }
}

pub(crate) fn who_part(user: &str, invalid: bool) -> String {
    if invalid {
        format!("invalid user {user}")
    } else {
        user.to_string()
    }
}

pub(crate) fn failed_password(user: &str, invalid: bool, ip: &str, port: u16) -> String {
    format!(
        "Failed password for {} from {ip} port {port} ssh2",
        who_part(user, invalid)
    )
}

pub(crate) fn accepted(
    method: &str,
    user: &str,
    ip: &str,
    port: u16,
    key: Option<(&str, &str)>,
) -> String {
    match key {
        Some((ty, fp)) => {
            format!("Accepted {method} for {user} from {ip} port {port} ssh2: {ty} SHA256:{fp}")
        }
        None => format!("Accepted {method} for {user} from {ip} port {port} ssh2"),
    }
}

pub(crate) fn invalid_user(user: &str, ip: &str, port: u16) -> String {
    format!("Invalid user {user} from {ip} port {port}")
}

pub(crate) fn pam_sshd_failure(ip: &str, user: Option<&str>) -> String {
    match user {
        Some(u) => format!(
            "pam_unix(sshd:auth): authentication failure; logname= uid=0 euid=0 tty=ssh ruser= rhost={ip}  user={u}"
        ),
        None => format!(
            "pam_unix(sshd:auth): authentication failure; logname= uid=0 euid=0 tty=ssh ruser= rhost={ip}"
        ),
    }
}

pub(crate) fn closed_preauth(user: &str, invalid: bool, ip: &str, port: u16) -> String {
    let who = if invalid {
        "invalid user"
    } else {
        "authenticating user"
    };
    format!("Connection closed by {who} {user} {ip} port {port} [preauth]")
}

pub(crate) fn max_attempts(user: &str, invalid: bool, ip: &str, port: u16) -> String {
    format!(
        "error: maximum authentication attempts exceeded for {} from {ip} port {port} ssh2 [preauth]",
        who_part(user, invalid)
    )
}

pub(crate) fn too_many(user: &str, invalid: bool, ip: &str, port: u16) -> String {
    let who = if invalid {
        "invalid user"
    } else {
        "authenticating user"
    };
    format!(
        "Disconnecting {who} {user} {ip} port {port}: Too many authentication failures [preauth]"
    )
}

pub(crate) fn session_opened(
    service: &str,
    user: &str,
    uid: u32,
    by: Option<(&str, u32)>,
) -> String {
    match by {
        Some((b, buid)) => format!(
            "pam_unix({service}:session): session opened for user {user}(uid={uid}) by {b}(uid={buid})"
        ),
        None => format!(
            "pam_unix({service}:session): session opened for user {user}(uid={uid}) by (uid=0)"
        ),
    }
}

pub(crate) fn session_closed(service: &str, user: &str) -> String {
    format!("pam_unix({service}:session): session closed for user {user}")
}

/// `sudo:    alice : TTY=pts/0 ; PWD=/home/alice ; USER=root ; COMMAND=/usr/bin/apt update`
pub(crate) fn sudo_cmd(user: &str, tty: Option<u8>, pwd: &str, command: &str) -> String {
    match tty {
        Some(n) => format!("   {user} : TTY=pts/{n} ; PWD={pwd} ; USER=root ; COMMAND={command}"),
        None => format!("   {user} : PWD={pwd} ; USER=root ; COMMAND={command}"),
    }
}

pub(crate) fn sudo_refused(user: &str, tty: u8, reason: &str, command: &str) -> String {
    format!(
        "   {user} : {reason} ; TTY=pts/{tty} ; PWD=/home/{user} ; USER=root ; COMMAND={command}"
    )
}

pub(crate) fn pam_local_failure(
    service: &str,
    user: &str,
    uid: u32,
    tty: &str,
    target: &str,
) -> String {
    format!(
        "pam_unix({service}:auth): authentication failure; logname={user} uid={uid} euid=0 tty={tty} ruser={user} rhost=  user={target}"
    )
}

/// Writes one host's auth.log.
pub(crate) struct AuthSink {
    file: LineFile,
    host: String,
}

impl AuthSink {
    pub fn create(out: &Path, rel: &str, host: &str) -> Result<AuthSink> {
        Ok(AuthSink {
            file: LineFile::create(out, rel)?,
            host: host.to_string(),
        })
    }

    pub fn finish(self) -> Result<StreamOutput> {
        self.file.finish(0)
    }
}

impl Sink for AuthSink {
    type Ev = AuthLine;

    fn write(&mut self, _rng: &mut Rng8, t: i64, ev: &AuthLine, tag: Option<&Tag>) -> Result<()> {
        let b = &mut self.file.buf;
        put_syslog(b, t);
        b.push(b' ');
        b.s(&self.host);
        b.push(b' ');
        let (name, with_pid) = match ev.prog {
            Prog::Sshd => ("sshd", true),
            Prog::Sudo => ("sudo", false),
            Prog::Su => ("su", true),
            Prog::Cron => ("CRON", true),
            Prog::Logind => ("systemd-logind", true),
        };
        b.s(name);
        if with_pid {
            b.push(b'[');
            b.u(ev.pid.into());
            b.push(b']');
        }
        b.s(": ");
        b.s(&ev.msg);
        b.push(b'\n');
        self.file.emit(tag)
    }
}
