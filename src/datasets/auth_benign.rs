//! Benign auth.log background for one host: cron, deploy and ansible automation, people's SSH
//! sessions with sudo, the odd typo, and the constant low hum of internet SSH scanners.

use std::collections::BTreeSet;

use rand::Rng;

use super::authlog::*;
use super::clock::{MIN, SEC};
use super::engine::{Generator, Queue};
use super::names::SCAN_USERS;
use super::population::{Population, ip4};
use super::util::{Rng8, base64ish, exp_ms, pick, pick_str, weighted};

const COMMANDS: &[&str] = &[
    "/usr/bin/apt update",
    "/usr/bin/apt upgrade -y",
    "/usr/bin/systemctl restart nginx",
    "/usr/bin/systemctl status app.service",
    "/usr/bin/journalctl -u app.service -n 200",
    "/usr/bin/tail -n 100 /var/log/nginx/error.log",
    "/usr/bin/docker ps",
    "/usr/bin/docker compose pull",
    "/usr/bin/vim /etc/nginx/sites-available/default",
    "/usr/sbin/ufw status",
    "/usr/bin/less /var/log/syslog",
    "/usr/bin/systemctl reload nginx",
    "/usr/bin/certbot renew --dry-run",
    "/usr/bin/du -sh /var/lib/docker",
];

type Q = Queue<AuthLine>;

pub(crate) struct AuthGen<'p> {
    pop: &'p Population,
    host: usize,
    bastion: bool,
    session: u32,
    logind: u32,
    avoid: &'p BTreeSet<String>,
    deploy_fp: String,
    ansible_fp: String,
    /// Chance that a password login starts with typos, and the most typos before success.
    typos: (f64, u32),
}

impl<'p> AuthGen<'p> {
    pub fn new(
        pop: &'p Population,
        host: usize,
        bastion: bool,
        avoid: &'p BTreeSet<String>,
        rng: &mut Rng8,
    ) -> Self {
        AuthGen {
            pop,
            host,
            bastion,
            session: rng.random_range(1..400),
            logind: rng.random_range(500..900),
            avoid,
            typos: (0.06, 1),
            deploy_fp: base64ish(rng, 43),
            ansible_fp: base64ish(rng, 43),
        }
    }

    fn sshd(&self, pid: u32, msg: String) -> AuthLine {
        AuthLine::new(Prog::Sshd, pid, msg)
    }

    fn scanner_ip(&self, rng: &mut Rng8) -> String {
        loop {
            let ip = ip4(
                *pick(
                    rng,
                    &[
                        45u8, 61, 92, 103, 116, 118, 122, 139, 141, 165, 170, 178, 181, 185, 193,
                        200, 218, 221,
                    ],
                ),
                rng,
            );
            if !self.avoid.contains(&ip) {
                return ip;
            }
        }
    }

    /// Drive-by scanning: one address, one to three guesses, gone.
    fn noise(&self, rng: &mut Rng8, t: i64, small: bool, q: &mut Q) {
        let ip = self.scanner_ip(rng);
        let p = port(rng);
        let pid = pid_at(self.host, t, rng);
        if small || rng.random_bool(0.3) {
            let msg = match rng.random_range(0..4u8) {
                0 => format!("Connection closed by {ip} port {p} [preauth]"),
                1 => format!("Received disconnect from {ip} port {p}:11: Bye Bye [preauth]"),
                2 => format!(
                    "Unable to negotiate with {ip} port {p}: no matching key exchange method found. Their offer: diffie-hellman-group1-sha1,diffie-hellman-group14-sha1 [preauth]"
                ),
                _ => format!("Connection reset by {ip} port {p} [preauth]"),
            };
            q.push(t, self.sshd(pid, msg));
            return;
        }
        let user = *pick(rng, SCAN_USERS);
        let invalid = user != "root";
        let mut at = t;
        if invalid {
            q.push(at, self.sshd(pid, invalid_user(user, &ip, p)));
        }
        for _ in 0..rng.random_range(1..=2) {
            at += rng.random_range(300..3000);
            if invalid {
                q.push(
                    at,
                    self.sshd(pid, "pam_unix(sshd:auth): check pass; user unknown".into()),
                );
            }
            q.push(
                at,
                self.sshd(pid, pam_sshd_failure(&ip, (!invalid).then_some(user))),
            );
            at += rng.random_range(1500..2600);
            q.push(at, self.sshd(pid, failed_password(user, invalid, &ip, p)));
        }
        at += rng.random_range(200..900);
        q.push(
            at,
            self.sshd(
                pid,
                format!("Received disconnect from {ip} port {p}:11: Bye Bye [preauth]"),
            ),
        );
        q.push(
            at,
            self.sshd(
                pid,
                format!(
                    "Disconnected from {} {ip} port {p} [preauth]",
                    if invalid {
                        format!("invalid user {user}")
                    } else {
                        format!("authenticating user {user}")
                    }
                ),
            ),
        );
    }

    fn cron(&self, rng: &mut Rng8, t: i64, q: &mut Q) {
        let (user, uid) = *pick(
            rng,
            &[
                ("root", 0u32),
                ("root", 0),
                ("root", 0),
                ("www-data", 33),
                ("backup", 34),
            ],
        );
        let pid = pid_at(self.host, t, rng);
        q.push(
            t,
            AuthLine::new(Prog::Cron, pid, session_opened("cron", user, uid, None)),
        );
        q.push(
            t + rng.random_range(200..4000),
            AuthLine::new(Prog::Cron, pid, session_closed("cron", user)),
        );
    }

    /// A full interactive or automated SSH session, from login to logout.
    #[allow(clippy::too_many_arguments)]
    fn session(
        &mut self,
        rng: &mut Rng8,
        t: i64,
        user: &str,
        uid: u32,
        ip: &str,
        auth: (&str, Option<(&str, &str)>),
        sudo: &[String],
        duration: i64,
        q: &mut Q,
    ) {
        let pid = pid_at(self.host, t, rng);
        let p = port(rng);
        let mut at = t;
        q.push(at, self.sshd(pid, accepted(auth.0, user, ip, p, auth.1)));
        q.push(at, self.sshd(pid, session_opened("sshd", user, uid, None)));
        self.session += 1;
        let sid = self.session;
        at += rng.random_range(5..60);
        q.push(
            at,
            AuthLine::new(
                Prog::Logind,
                self.logind,
                format!("New session {sid} of user {user}."),
            ),
        );
        let tty = rng.random_range(0..4u8);
        let interactive = user != "deploy" && user != "ansible";
        for cmd in sudo {
            at += exp_ms(rng, (duration / (sudo.len() as i64 + 1)) as f64).min(duration / 2) + SEC;
            let t_opt = interactive.then_some(tty);
            q.push(
                at,
                AuthLine::new(
                    Prog::Sudo,
                    0,
                    sudo_cmd(user, t_opt, &format!("/home/{user}"), cmd),
                ),
            );
            q.push(
                at,
                AuthLine::new(
                    Prog::Sudo,
                    0,
                    session_opened("sudo", "root", 0, Some((user, uid))),
                ),
            );
            q.push(
                at + rng.random_range(300..20_000),
                AuthLine::new(Prog::Sudo, 0, session_closed("sudo", "root")),
            );
        }
        let end = (t + duration).max(at + 25 * SEC);
        q.push(
            end,
            self.sshd(
                pid,
                format!("Received disconnect from {ip} port {p}:11: disconnected by user"),
            ),
        );
        q.push(
            end,
            self.sshd(pid, format!("Disconnected from user {user} {ip} port {p}")),
        );
        q.push(end, self.sshd(pid, session_closed("sshd", user)));
        q.push(
            end,
            AuthLine::new(
                Prog::Logind,
                self.logind,
                format!("Session {sid} logged out. Waiting for processes to exit."),
            ),
        );
        q.push(
            end + rng.random_range(10..300),
            AuthLine::new(Prog::Logind, self.logind, format!("Removed session {sid}.")),
        );
    }

    fn person(&mut self, rng: &mut Rng8, t: i64, q: &mut Q) {
        let pop = self.pop;
        let ssh_users: Vec<usize> = (0..pop.employees.len())
            .filter(|&i| pop.employees[i].ssh)
            .collect();
        let e = &pop.employees[*pick(rng, &ssh_users)];
        let ip = if !self.bastion && rng.random_bool(0.5) {
            format!("{}.{}", pop.vpn_prefix, rng.random_range(2..250u8))
        } else {
            pop.employee_ip(rng, e)
        };
        let mut at = t;
        let password = e.password_ssh && rng.random_bool(0.7);
        if password && rng.random_bool(self.typos.0) {
            // Typos: a failure or a few, then the right password seconds later.
            for _ in 0..rng.random_range(1..=self.typos.1) {
                let pid = pid_at(self.host, at, rng);
                let p = port(rng);
                q.push(at, self.sshd(pid, pam_sshd_failure(&ip, Some(&e.user))));
                at += rng.random_range(1500..2500);
                q.push(at, self.sshd(pid, failed_password(&e.user, false, &ip, p)));
                at += rng.random_range(2..9) * SEC;
                q.push(at, self.sshd(pid, closed_preauth(&e.user, false, &ip, p)));
                at += rng.random_range(2..15) * SEC;
            }
        }
        let mut sudo = Vec::new();
        if e.admin {
            for _ in 0..rng.random_range(0..=4) {
                sudo.push(pick(rng, COMMANDS).to_string());
            }
            if rng.random_bool(0.05) {
                let uid = e.uid;
                let tty = rng.random_range(0..3u8);
                q.push(
                    at + 3 * MIN,
                    AuthLine::new(
                        Prog::Sudo,
                        0,
                        pam_local_failure(
                            "sudo",
                            &e.user,
                            uid,
                            &format!("/dev/pts/{tty}"),
                            &e.user,
                        ),
                    ),
                );
            }
        } else if rng.random_bool(0.02) {
            // A developer trying sudo where they may not: a near miss for escalation detectors.
            let tty = rng.random_range(0..3u8);
            q.push(
                at + 2 * MIN,
                AuthLine::new(
                    Prog::Sudo,
                    0,
                    sudo_refused(&e.user, tty, "user NOT in sudoers", pick_str(rng, COMMANDS)),
                ),
            );
        }
        let duration = rng.random_range(3..=150) * MIN;
        let fp = e.key_fp.clone();
        let method = if password {
            ("password", None)
        } else {
            ("publickey", Some((e.key_type, fp.as_str())))
        };
        self.session(
            rng,
            at,
            &e.user.clone(),
            e.uid,
            &ip,
            method,
            &sudo,
            duration,
            q,
        );
        if e.admin && rng.random_bool(0.03) {
            let pid = pid_at(self.host, at, rng);
            let at = at + rng.random_range(2..20) * MIN;
            q.push(
                at,
                AuthLine::new(
                    Prog::Su,
                    pid,
                    format!("(to root) {} on pts/{}", e.user, rng.random_range(0..3u8)),
                ),
            );
            q.push(
                at,
                AuthLine::new(
                    Prog::Su,
                    pid,
                    session_opened("su", "root", 0, Some((&e.user, e.uid))),
                ),
            );
            q.push(
                at + rng.random_range(1..10) * MIN,
                AuthLine::new(Prog::Su, pid, session_closed("su", "root")),
            );
        }
    }

    fn automation(&mut self, rng: &mut Rng8, t: i64, q: &mut Q) {
        let pop = self.pop;
        if rng.random_bool(0.6) {
            let ip = pick(rng, &pop.ci_ips).clone();
            let cmds = vec![
                "/usr/bin/systemctl restart app.service".to_string(),
                "/usr/bin/systemctl is-active app.service".to_string(),
            ];
            let fp = self.deploy_fp.clone();
            let dur = rng.random_range(20..90) * SEC;
            self.session(
                rng,
                t,
                "deploy",
                1100,
                &ip,
                ("publickey", Some(("ED25519", &fp))),
                &cmds,
                dur,
                q,
            );
        } else {
            let ip = pick(rng, &pop.internal_ips).clone();
            let mut cmds = Vec::new();
            for _ in 0..rng.random_range(2..=5) {
                let token: String = (0..32)
                    .map(|_| char::from(b'a' + rng.random_range(0..26u8)))
                    .collect();
                cmds.push(format!(
                    "/bin/sh -c echo BECOME-SUCCESS-{token} ; /usr/bin/python3 /home/ansible/.ansible/tmp/ansible-tmp-{}.{}-{}/AnsiballZ_{}.py",
                    t / 1000,
                    rng.random_range(100_000..999_999u32),
                    rng.random_range(1000..99_999u32),
                    pick(rng, &["apt", "setup", "copy", "systemd", "stat", "file"])
                ));
            }
            let fp = self.ansible_fp.clone();
            let dur = rng.random_range(30..300) * SEC;
            self.session(
                rng,
                t,
                "ansible",
                1101,
                &ip,
                ("publickey", Some(("RSA", &fp))),
                &cmds,
                dur,
                q,
            );
        }
    }
}

impl AuthGen<'_> {
    /// Set the typo habit of the benign profile.
    pub fn with_typos(mut self, typos: (f64, u32)) -> Self {
        self.typos = typos;
        self
    }
}

impl Generator for AuthGen<'_> {
    type Ev = AuthLine;

    fn human_share(&self) -> f64 {
        0.25
    }
    fn mean_events(&self) -> f64 {
        5.0
    }
    fn trigger(&mut self, rng: &mut Rng8, t: i64, human: bool, small: bool, q: &mut Q) {
        if small {
            self.noise(rng, t, true, q);
        } else if human {
            self.person(rng, t, q);
        } else {
            let w = [45.0, if self.bastion { 30.0 } else { 18.0 }, 6.0];
            match weighted(rng, &w) {
                0 => self.cron(rng, t, q),
                1 => self.noise(rng, t, false, q),
                _ => self.automation(rng, t, q),
            }
        }
    }
}
