//! Host-side scenarios — SSH brute force and sudo/su escalation — and the dispatch of the
//! escalation and suspicious-login variants.

use rand::Rng;

use super::attacks::Planner;
use super::authlog::*;
use super::clock::{MIN, SEC};
use super::engine::Scenario;
use super::names::SCAN_USERS;
use super::util::{pick, scaled, weighted};

impl Planner<'_> {
    pub(crate) fn brute_force(&mut self, inst: u32) -> &'static str {
        let pop = self.pop;
        let attempts = scaled(&mut self.rng, 60, 500, self.k, 15);
        let dur = self.rng.random_range(3..=45) * MIN;
        let t0 = self.when(dur);
        self.open(Scenario::BruteForce, inst, t0);
        let host = self.rng.random_range(0..2usize);
        let ip = self.attacker_ip();
        let ssh: Vec<&str> = pop
            .employees
            .iter()
            .filter(|e| e.ssh)
            .map(|e| e.user.as_str())
            .collect();
        let n_users = 1 + weighted(&mut self.rng, &[60.0, 25.0, 15.0]);
        let mut users: Vec<(String, bool, u32)> = Vec::new();
        for i in 0..n_users {
            let rng = &mut self.rng;
            let pickd = if i == 0 && rng.random_bool(0.5) {
                ("root".to_string(), false, 0)
            } else if rng.random_bool(0.25) {
                let u = *pick(rng, &ssh);
                let uid = pop
                    .employees
                    .iter()
                    .find(|e| e.user == u)
                    .map_or(1001, |e| e.uid);
                (u.to_string(), false, uid)
            } else {
                (pick(rng, SCAN_USERS).to_string(), true, 0)
            };
            if !users.iter().any(|u| u.0 == pickd.0) {
                users.push(pickd);
            }
        }
        let per_conn = *pick(&mut self.rng, &[1u32, 3, 6, 6]);
        let gap = (dur / i64::from(attempts)).max(400);
        let success = self.rng.random_bool(0.35) && users.iter().any(|u| !u.1);
        let mut at = t0;
        let mut done = 0;
        while done < attempts {
            let (user, invalid, _) =
                users[(done as usize / per_conn as usize) % users.len()].clone();
            let rng = &mut self.rng;
            let pid = pid_at(host, at, rng);
            let p = port(rng);
            let mut lines = Vec::new();
            if invalid {
                lines.push((0, invalid_user(&user, &ip, p)));
            }
            let n = per_conn.min(attempts - done);
            for j in 0..n {
                let dt = rng.random_range(gap / 2..=gap * 3 / 2);
                if j == 0 {
                    lines.push((
                        dt / 2,
                        pam_sshd_failure(&ip, (!invalid).then_some(user.as_str())),
                    ));
                }
                lines.push((dt, failed_password(&user, invalid, &ip, p)));
            }
            if n == 6 {
                lines.push((300, max_attempts(&user, invalid, &ip, p)));
                lines.push((0, too_many(&user, invalid, &ip, p)));
                if !invalid {
                    lines.push((0, format!("PAM 5 more authentication failures; logname= uid=0 euid=0 tty=ssh ruser= rhost={ip}  user={user}")));
                }
            } else {
                lines.push((
                    rng.random_range(100..2000),
                    closed_preauth(&user, invalid, &ip, p),
                ));
            }
            for (dt, msg) in lines {
                at += dt;
                self.auth(host, at, AuthLine::new(Prog::Sshd, pid, msg), &ip.clone());
            }
            done += n;
        }
        if success {
            let (user, _, uid) =
                users
                    .iter()
                    .find(|u| !u.1)
                    .cloned()
                    .unwrap_or(("root".into(), false, 0));
            let rng = &mut self.rng;
            let pid = pid_at(host, at, rng);
            let p = port(rng);
            at += rng.random_range(1..5) * SEC;
            let ipc = ip.clone();
            self.auth(
                host,
                at,
                AuthLine::new(Prog::Sshd, pid, accepted("password", &user, &ipc, p, None)),
                &ipc,
            );
            self.auth(
                host,
                at,
                AuthLine::new(Prog::Sshd, pid, session_opened("sshd", &user, uid, None)),
                &ipc,
            );
            return "ssh_success";
        }
        "ssh"
    }

    fn privesc_host(&mut self, inst: u32) -> &'static str {
        let pop = self.pop;
        let t0 = self.when(40 * MIN);
        self.open(Scenario::PrivilegeEscalation, inst, t0);
        let host = self.rng.random_range(0..2usize);
        let cands: Vec<usize> = (0..pop.employees.len())
            .filter(|&i| pop.employees[i].ssh && !pop.employees[i].admin)
            .collect();
        let e =
            &pop.employees[cands[(inst as usize * 3 + self.rng.random_range(0..2)) % cands.len()]];
        let (user, uid) = (e.user.clone(), e.uid);
        let ip = if self.rng.random_bool(0.6) {
            self.attacker_ip()
        } else {
            pop.employee_ip(&mut self.rng, e)
        };
        let rng = &mut self.rng;
        let pid = pid_at(host, t0, rng);
        let p = port(rng);
        let tty = rng.random_range(0..4u8);
        let method = if e.password_ssh || rng.random_bool(0.5) {
            ("password", None)
        } else {
            ("publickey", Some((e.key_type, e.key_fp.as_str())))
        };
        let mut at = t0;
        self.auth(
            host,
            at,
            AuthLine::new(Prog::Sshd, pid, accepted(method.0, &user, &ip, p, method.1)),
            &user,
        );
        self.auth(
            host,
            at,
            AuthLine::new(Prog::Sshd, pid, session_opened("sshd", &user, uid, None)),
            &user,
        );
        at += self.rng.random_range(1..10) * MIN;
        let pts = format!("/dev/pts/{tty}");
        for _ in 0..self.rng.random_range(1..=3) {
            at += self.rng.random_range(3..20) * SEC;
            self.auth(
                host,
                at,
                AuthLine::new(
                    Prog::Sudo,
                    0,
                    pam_local_failure("sudo", &user, uid, &pts, &user),
                ),
                &user,
            );
        }
        let cmd = *pick(
            &mut self.rng,
            &[
                "/bin/bash",
                "/usr/bin/su",
                "/bin/sh",
                "/usr/bin/cat /etc/shadow",
                "/usr/bin/vim /etc/sudoers",
            ],
        );
        let reason = if self.rng.random_bool(0.5) {
            "user NOT in sudoers"
        } else {
            "3 incorrect password attempts"
        };
        self.auth(
            host,
            at + 800,
            AuthLine::new(Prog::Sudo, 0, sudo_refused(&user, tty, reason, cmd)),
            &user,
        );
        let su_pid = pid_at(host, at, &mut self.rng);
        for _ in 0..self.rng.random_range(0..=3) {
            at += self.rng.random_range(5..90) * SEC;
            self.auth(
                host,
                at,
                AuthLine::new(
                    Prog::Su,
                    su_pid,
                    pam_local_failure("su", &user, uid, &format!("pts/{tty}"), "root"),
                ),
                &user,
            );
            self.auth(
                host,
                at + 2200,
                AuthLine::new(
                    Prog::Su,
                    su_pid,
                    format!("FAILED SU (to root) {user} on pts/{tty}"),
                ),
                &user,
            );
        }
        at += self.rng.random_range(1..15) * MIN;
        let su_pid = pid_at(host, at, &mut self.rng);
        self.auth(
            host,
            at,
            AuthLine::new(Prog::Su, su_pid, format!("(to root) {user} on pts/{tty}")),
            &user,
        );
        self.auth(
            host,
            at,
            AuthLine::new(
                Prog::Su,
                su_pid,
                session_opened("su", "root", 0, Some((&user, uid))),
            ),
            &user,
        );
        "host"
    }

    pub(crate) fn privesc(&mut self, inst: u32) -> &'static str {
        if self.variant(Scenario::PrivilegeEscalation, inst, 2) == 0 {
            self.privesc_host(inst)
        } else {
            self.privesc_cloud(inst)
        }
    }

    pub(crate) fn suspicious_login(&mut self, inst: u32) -> &'static str {
        match self.variant(Scenario::SuspiciousLogin, inst, 4) {
            0 => self.root_login(inst),
            2 => self.app_new_location(inst),
            _ => self.nomfa_login(inst),
        }
    }
}
