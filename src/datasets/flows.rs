//! Network flows as CICIDS2017-style CSV (`flows/flows.csv`): the record type, the writer, benign
//! traffic (web, DNS, internal services) and the two flow-level attacks, port scans and floods.

use std::path::Path;

use anyhow::Result;
use rand::Rng;

use super::clock::put_cicids;
use super::engine::{Generator, Queue, Sink, StreamOutput, Tag};
use super::linefile::LineFile;
use super::population::{Population, ip4};
use super::util::{Put, Rng8, pick};

pub(crate) const HEADER: &str = "Flow ID, Source IP, Source Port, Destination IP, Destination Port, Protocol, Timestamp, Flow Duration, Total Fwd Packets, Total Backward Packets,Total Length of Fwd Packets, Total Length of Bwd Packets, Fwd Packet Length Max, Fwd Packet Length Min, Fwd Packet Length Mean, Bwd Packet Length Max, Bwd Packet Length Min, Bwd Packet Length Mean,Flow Bytes/s, Flow Packets/s, Flow IAT Mean, Flow IAT Max, Flow IAT Min,Fwd IAT Total,FIN Flag Count, SYN Flag Count, RST Flag Count, PSH Flag Count, ACK Flag Count, Average Packet Size,Init_Win_bytes_forward, Init_Win_bytes_backward, Label\n";

#[derive(Debug, Clone)]
pub(crate) struct Flow {
    pub src: String,
    pub sport: u16,
    pub dst: String,
    pub dport: u16,
    pub proto: u8,
    pub dur_us: u64,
    pub fwd: u32,
    pub bwd: u32,
    pub fwd_bytes: u64,
    pub bwd_bytes: u64,
    pub fwd_max: u32,
    pub fwd_min: u32,
    pub bwd_max: u32,
    pub bwd_min: u32,
    /// FIN, SYN, RST, PSH, ACK counts.
    pub flags: [u8; 5],
    pub win_fwd: i32,
    pub win_bwd: i32,
    pub label: &'static str,
}

/// Packet counts and sizes for one direction: (packets, total bytes, max, min).
fn direction(rng: &mut Rng8, pkts: u32, max_size: u32) -> (u32, u64, u32, u32) {
    if pkts == 0 {
        return (0, 0, 0, 0);
    }
    let (mut total, mut max, mut min) = (0u64, 0u32, u32::MAX);
    for _ in 0..pkts.min(40) {
        let s = if rng.random_bool(0.4) {
            0
        } else {
            rng.random_range(20..=max_size.max(21))
        };
        total += u64::from(s);
        max = max.max(s);
        min = min.min(s);
    }
    if pkts > 40 {
        total = total * u64::from(pkts) / 40;
    }
    (pkts, total, max, min)
}

#[allow(clippy::too_many_arguments)]
pub(crate) fn tcp_flow(
    rng: &mut Rng8,
    src: &str,
    sport: u16,
    dst: &str,
    dport: u16,
    dur_us: u64,
    fwd: u32,
    bwd: u32,
    fwd_size: u32,
    bwd_size: u32,
    label: &'static str,
) -> Flow {
    let (fwd, fwd_bytes, fwd_max, fwd_min) = direction(rng, fwd, fwd_size);
    let (bwd, bwd_bytes, bwd_max, bwd_min) = direction(rng, bwd, bwd_size);
    let psh = u8::from(fwd_bytes > 0);
    Flow {
        src: src.to_string(),
        sport,
        dst: dst.to_string(),
        dport,
        proto: 6,
        dur_us: dur_us.max(1),
        fwd,
        bwd,
        fwd_bytes,
        bwd_bytes,
        fwd_max,
        fwd_min,
        bwd_max,
        bwd_min,
        flags: [u8::from(fwd + bwd > 4), 1, 0, psh, u8::from(bwd > 0)],
        win_fwd: *pick(rng, &[29200, 64240, 65535, 8192, 26883]),
        win_bwd: if bwd > 0 {
            *pick(rng, &[28960, 65160, 65535, 235, 1026])
        } else {
            -1
        },
        label,
    }
}

fn udp_flow(src: &str, sport: u16, dst: &str, dport: u16, dur_us: u64, q: u32, a: u32) -> Flow {
    Flow {
        src: src.to_string(),
        sport,
        dst: dst.to_string(),
        dport,
        proto: 17,
        dur_us: dur_us.max(1),
        fwd: 1,
        bwd: 1,
        fwd_bytes: q.into(),
        bwd_bytes: a.into(),
        fwd_max: q,
        fwd_min: q,
        bwd_max: a,
        bwd_min: a,
        flags: [0; 5],
        win_fwd: -1,
        win_bwd: -1,
        label: "BENIGN",
    }
}

pub(crate) struct FlowSink(LineFile);

impl FlowSink {
    pub fn create(out: &Path, rel: &str) -> Result<Self> {
        let mut f = LineFile::create(out, rel)?;
        f.header(HEADER)?;
        Ok(FlowSink(f))
    }
    pub fn finish(self) -> Result<StreamOutput> {
        self.0.finish(1)
    }
}

impl Sink for FlowSink {
    type Ev = Flow;

    fn write(&mut self, _rng: &mut Rng8, t: i64, f: &Flow, tag: Option<&Tag>) -> Result<()> {
        let b = &mut self.0.buf;
        let pkts = u64::from(f.fwd + f.bwd).max(1);
        let bytes = f.fwd_bytes + f.bwd_bytes;
        let secs = f.dur_us as f64 / 1e6;
        let iat_mean = f.dur_us as f64 / (pkts.max(2) - 1) as f64;
        // With one gap (two packets) the gap is the whole flow; otherwise spread around the mean.
        let (iat_max, iat_min) = if pkts <= 2 {
            (f.dur_us, f.dur_us)
        } else {
            (
                ((iat_mean * 2.6) as u64).min(f.dur_us),
                ((iat_mean * 0.05) as u64).max(1),
            )
        };
        for (i, part) in [f.src.as_str(), f.dst.as_str()].iter().enumerate() {
            if i > 0 {
                b.push(b'-');
            }
            b.s(part);
        }
        b.push(b'-');
        b.u(f.sport.into());
        b.push(b'-');
        b.u(f.dport.into());
        b.push(b'-');
        b.u(f.proto.into());
        b.push(b',');
        b.s(&f.src);
        b.push(b',');
        b.u(f.sport.into());
        b.push(b',');
        b.s(&f.dst);
        b.push(b',');
        b.u(f.dport.into());
        b.push(b',');
        b.u(f.proto.into());
        b.push(b',');
        put_cicids(b, t);
        for v in [
            f.dur_us,
            f.fwd.into(),
            f.bwd.into(),
            f.fwd_bytes,
            f.bwd_bytes,
            f.fwd_max.into(),
            f.fwd_min.into(),
        ] {
            b.push(b',');
            b.u(v);
        }
        b.push(b',');
        b.f3(if f.fwd > 0 {
            f.fwd_bytes as f64 / f64::from(f.fwd)
        } else {
            0.0
        });
        for v in [f.bwd_max, f.bwd_min] {
            b.push(b',');
            b.u(v.into());
        }
        b.push(b',');
        b.f3(if f.bwd > 0 {
            f.bwd_bytes as f64 / f64::from(f.bwd)
        } else {
            0.0
        });
        b.push(b',');
        b.f3(bytes as f64 / secs);
        b.push(b',');
        b.f3(pkts as f64 / secs);
        b.push(b',');
        b.f3(iat_mean);
        b.push(b',');
        b.u(iat_max);
        b.push(b',');
        b.u(iat_min);
        b.push(b',');
        b.u(if f.fwd > 1 { f.dur_us } else { 0 });
        for flag in f.flags {
            b.push(b',');
            b.u(flag.into());
        }
        b.push(b',');
        b.f3(bytes as f64 / pkts as f64);
        for w in [f.win_fwd, f.win_bwd] {
            b.push(b',');
            if w < 0 {
                b.s("-1");
            } else {
                b.u(w as u64);
            }
        }
        b.push(b',');
        b.s(f.label);
        b.push(b'\n');
        self.0.emit(tag)
    }
}

pub(crate) struct FlowGen<'p> {
    pop: &'p Population,
    remote: Vec<String>,
}

impl<'p> FlowGen<'p> {
    pub fn new(pop: &'p Population, rng: &mut Rng8) -> Self {
        let remote = (0..80)
            .map(|_| {
                ip4(
                    *pick(rng, &[142u8, 104, 151, 52, 13, 172, 23, 34, 8, 31]),
                    rng,
                )
            })
            .collect();
        FlowGen { pop, remote }
    }
}

impl Generator for FlowGen<'_> {
    type Ev = Flow;
    fn human_share(&self) -> f64 {
        0.6
    }
    fn mean_events(&self) -> f64 {
        1.8
    }
    fn trigger(&mut self, rng: &mut Rng8, t: i64, human: bool, small: bool, q: &mut Queue<Flow>) {
        let pop = self.pop;
        let host = pick(rng, &pop.flow_hosts).clone();
        let sport = rng.random_range(49152..65535u16);
        let kind = if human {
            rng.random_range(0..10u8)
        } else {
            rng.random_range(5..12u8)
        };
        match kind {
            0..=5 => {
                let dst = pick(rng, &self.remote).clone();
                let n = if small { 1 } else { rng.random_range(1..=4) };
                for i in 0..n {
                    let dur = rng.random_range(30_000..60_000_000u64);
                    let fwd = rng.random_range(3..60);
                    let bwd = rng.random_range(2..90);
                    let dport = *pick(rng, &[443, 443, 443, 80]);
                    let f = tcp_flow(
                        rng,
                        &host,
                        sport.wrapping_add(i as u16),
                        &dst,
                        dport,
                        dur,
                        fwd,
                        bwd,
                        1200,
                        1460,
                        "BENIGN",
                    );
                    q.push(t + i * rng.random_range(5..800), f);
                }
            }
            6..=8 => {
                let dur = rng.random_range(200..80_000u64);
                q.push(
                    t,
                    udp_flow(
                        &host,
                        sport,
                        "192.168.10.3",
                        53,
                        dur,
                        rng.random_range(30..70),
                        rng.random_range(60..300),
                    ),
                );
            }
            9 | 10 => {
                let server = pick(rng, &pop.servers).clone();
                let port = *pick(rng, &[445u16, 22, 5432, 8080, 3389, 389, 88]);
                let dur = rng.random_range(1_000..120_000_000u64);
                let (fwd, bwd) = (rng.random_range(2..200), rng.random_range(1..200));
                let f = tcp_flow(
                    rng, &host, sport, &server, port, dur, fwd, bwd, 1400, 1460, "BENIGN",
                );
                q.push(t, f);
            }
            _ => q.push(
                t,
                udp_flow(
                    &host,
                    sport,
                    "192.168.10.3",
                    123,
                    rng.random_range(100..2_000),
                    48,
                    48,
                ),
            ),
        }
    }
}

/// A port scan from `src` against one host: (time, flow) pairs in time order.
pub(crate) fn port_scan(rng: &mut Rng8, t0: i64, src: &str, dst: &str, n: u32) -> Vec<(i64, Flow)> {
    const COMMON: &[u16] = &[
        21, 22, 23, 25, 53, 80, 110, 111, 135, 139, 143, 443, 445, 993, 995, 1723, 3306, 3389,
        5900, 8080, 8443,
    ];
    let slow = rng.random_bool(0.3);
    let sport = rng.random_range(30000..65000u16);
    let mut at = t0;
    let mut out = Vec::with_capacity(n as usize);
    for i in 0..n {
        at += if slow {
            rng.random_range(400..6_000)
        } else {
            rng.random_range(0..40)
        };
        let dport = if (i as usize) < COMMON.len() && rng.random_bool(0.8) {
            COMMON[i as usize]
        } else {
            rng.random_range(1..=65535)
        };
        let open = rng.random_bool(0.02);
        let dur = rng.random_range(15..400);
        let mut f = tcp_flow(
            rng,
            src,
            sport.wrapping_add((i % 3) as u16),
            dst,
            dport,
            dur,
            if open { 2 } else { 1 },
            1,
            0,
            0,
            "PortScan",
        );
        f.fwd_bytes = 0;
        f.bwd_bytes = 0;
        (f.fwd_max, f.fwd_min, f.bwd_max, f.bwd_min) = (0, 0, 0, 0);
        f.flags = [0, 1, u8::from(!open), 0, u8::from(open)];
        f.win_fwd = *pick(rng, &[1024, 2048, 3072, 4096]);
        f.win_bwd = if open { 29200 } else { 0 };
        out.push((at, f));
    }
    out
}

/// An HTTP flood from `srcs` against one web server.
pub(crate) fn flood(
    rng: &mut Rng8,
    t0: i64,
    srcs: &[String],
    dst: &str,
    n: u32,
) -> Vec<(i64, Flow)> {
    let mut at = t0;
    let gap = rng.random_range(5..120);
    let mut out = Vec::with_capacity(n as usize);
    for _ in 0..n {
        at += rng.random_range(0..gap * 2);
        let src = pick(rng, srcs);
        let dur = rng.random_range(800..6_000_000u64);
        let (sport, fwd, bwd) = (
            rng.random_range(1024..65535),
            rng.random_range(3..8),
            rng.random_range(0..6),
        );
        let f = tcp_flow(rng, src, sport, dst, 80, dur, fwd, bwd, 400, 11_600, "DDoS");
        out.push((at, f));
    }
    out
}
