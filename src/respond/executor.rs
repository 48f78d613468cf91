//! Live executors: commands run as argv (no shell) with a timeout and retries, and webhooks
//! (HTTP POST of JSON). Only the live mode has one; the sandbox never reaches this module.

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// One thing to run for real.
#[derive(Debug, Clone)]
pub enum Request {
    Command(Vec<String>),
    Webhook {
        url: String,
        body: serde_json::Value,
    },
}

#[derive(Debug, Clone)]
pub struct Outcome {
    pub success: bool,
    /// Exit status or HTTP status.
    pub status: Option<i32>,
    pub attempts: u32,
    /// What happened, without real target values (the caller sanitises and pseudonymises).
    pub detail: String,
}

/// Runs requests in live mode. A trait so tests can count calls and fake outcomes.
pub trait Executor: Send + Sync {
    fn run(&self, request: &Request) -> Outcome;
}

pub struct LiveExecutor {
    pub timeout: Duration,
    pub attempts: u32,
}

impl Executor for LiveExecutor {
    fn run(&self, request: &Request) -> Outcome {
        let mut last = Outcome {
            success: false,
            status: None,
            attempts: 0,
            detail: String::new(),
        };
        for attempt in 1..=self.attempts.max(1) {
            last = match request {
                Request::Command(argv) => run_command(argv, self.timeout),
                Request::Webhook { url, body } => post(url, body, self.timeout),
            };
            last.attempts = attempt;
            if last.success {
                break;
            }
            std::thread::sleep(Duration::from_millis(200 * u64::from(attempt)));
        }
        last
    }
}

fn run_command(argv: &[String], timeout: Duration) -> Outcome {
    let fail = |detail: String| Outcome {
        success: false,
        status: None,
        attempts: 0,
        detail,
    };
    let Some((program, args)) = argv.split_first() else {
        return fail("empty command".into());
    };
    let mut child = match Command::new(program)
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
    {
        Ok(c) => c,
        Err(e) => return fail(format!("cannot start {program}: {e}")),
    };
    let started = Instant::now();
    loop {
        match child.try_wait() {
            Ok(Some(status)) => {
                let mut stderr = String::new();
                if let Some(mut err) = child.stderr.take() {
                    use std::io::Read;
                    let _ = err.by_ref().take(4096).read_to_string(&mut stderr);
                }
                return Outcome {
                    success: status.success(),
                    status: status.code(),
                    attempts: 0,
                    detail: if status.success() {
                        format!("{program} exited 0")
                    } else {
                        format!("{program} failed ({status}): {}", stderr.trim())
                    },
                };
            }
            Ok(None) if started.elapsed() > timeout => {
                let _ = child.kill();
                let _ = child.wait();
                return fail(format!("{program} timed out after {}s", timeout.as_secs()));
            }
            Ok(None) => std::thread::sleep(Duration::from_millis(10)),
            Err(e) => return fail(format!("waiting for {program}: {e}")),
        }
    }
}

fn post(url: &str, body: &serde_json::Value, timeout: Duration) -> Outcome {
    let client = match reqwest::blocking::Client::builder()
        .timeout(timeout)
        .build()
    {
        Ok(c) => c,
        Err(e) => {
            return Outcome {
                success: false,
                status: None,
                attempts: 0,
                detail: format!("HTTP client: {e}"),
            };
        }
    };
    match client.post(url).json(body).send() {
        Ok(resp) => {
            let status = resp.status();
            Outcome {
                success: status.is_success(),
                status: Some(i32::from(status.as_u16())),
                attempts: 0,
                detail: format!("webhook POST: HTTP {status}"),
            }
        }
        Err(e) => Outcome {
            success: false,
            status: None,
            attempts: 0,
            detail: format!("webhook POST failed: {}", e.without_url()),
        },
    }
}
