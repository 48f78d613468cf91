//! The flow record schema: which columns of a flow export (CICFlowMeter as in CICIDS2017 and
//! its 2022 re-release, or plain NetFlow-style names) are the endpoints, and which numeric
//! columns are the flow's features, by name, in a fixed order.
//!
//! The feature vector is chosen by name, never "every numeric column": exports carry row ids,
//! labels and attack categories that must not reach detection (they would be the answer), and
//! two exports of the same tool name their columns differently ("Total Fwd Packets" /
//! "Total Fwd Packet").

use serde_json::Value;

use super::Metadata;

/// Names tried (trimmed, case-insensitive) for each endpoint field.
pub const SRC_IP: &[&str] = &["Source IP", "Src IP", "src_ip", "srcaddr", "id.orig_h"];
pub const SRC_PORT: &[&str] = &[
    "Source Port",
    "Src Port",
    "src_port",
    "srcport",
    "id.orig_p",
];
pub const DST_IP: &[&str] = &["Destination IP", "Dst IP", "dst_ip", "dstaddr", "id.resp_h"];
pub const DST_PORT: &[&str] = &[
    "Destination Port",
    "Dst Port",
    "dst_port",
    "dstport",
    "id.resp_p",
];
/// Columns that describe the row, not the traffic: kept as metadata, never features.
pub const NOT_FEATURES: &[&str] = &["id", "Flow ID", "Label", "Attempted Category", "Timestamp"];

/// Feature names (as reported) and the column names that carry each.
pub const FEATURES: &[(&str, &[&str])] = &[
    ("duration_us", &["Flow Duration", "duration_us"]),
    (
        "fwd_packets",
        &[
            "Total Fwd Packets",
            "Total Fwd Packet",
            "fwd_packets",
            "packets",
        ],
    ),
    (
        "bwd_packets",
        &["Total Backward Packets", "Total Bwd packets", "bwd_packets"],
    ),
    (
        "fwd_bytes",
        &[
            "Total Length of Fwd Packets",
            "Total Length of Fwd Packet",
            "fwd_bytes",
            "bytes",
        ],
    ),
    (
        "bwd_bytes",
        &[
            "Total Length of Bwd Packets",
            "Total Length of Bwd Packet",
            "bwd_bytes",
        ],
    ),
    ("fwd_len_max", &["Fwd Packet Length Max"]),
    ("bwd_len_max", &["Bwd Packet Length Max"]),
    ("bytes_per_s", &["Flow Bytes/s"]),
    ("packets_per_s", &["Flow Packets/s"]),
    ("iat_mean", &["Flow IAT Mean"]),
    ("iat_max", &["Flow IAT Max"]),
    ("fin", &["FIN Flag Count"]),
    ("syn", &["SYN Flag Count"]),
    ("rst", &["RST Flag Count"]),
    ("psh", &["PSH Flag Count"]),
    ("ack", &["ACK Flag Count"]),
    ("avg_packet", &["Average Packet Size"]),
    (
        "fwd_init_win",
        &["Init_Win_bytes_forward", "FWD Init Win Bytes"],
    ),
    (
        "bwd_init_win",
        &["Init_Win_bytes_backward", "Bwd Init Win Bytes"],
    ),
];

/// Positions in the feature vector the flow detectors read.
pub mod feature {
    pub const DURATION_US: usize = 0;
    pub const FWD_PACKETS: usize = 1;
    pub const BWD_PACKETS: usize = 2;
    pub const FWD_BYTES: usize = 3;
    pub const BWD_BYTES: usize = 4;
}

/// True when `header` names enough flow columns to be a flow export.
pub fn is_flow_header<'a>(header: impl IntoIterator<Item = &'a str>) -> bool {
    let mut endpoints = false;
    let mut features = 0;
    for name in header {
        let name = name.trim();
        if matches_any(name, DST_PORT) || matches_any(name, DST_IP) {
            endpoints = true;
        }
        if FEATURES.iter().any(|(_, names)| matches_any(name, names)) {
            features += 1;
        }
    }
    endpoints && features >= 2
}

/// The value of the first of `names` present in `md` (keys matched trimmed, case-insensitive).
pub fn lookup<'a>(md: &'a Metadata, names: &[&str]) -> Option<&'a Value> {
    names.iter().find_map(|want| {
        md.iter()
            .find(|(k, _)| k.trim().eq_ignore_ascii_case(want))
            .map(|(_, v)| v)
    })
}

/// The flow's features in `FEATURES` order; a column the export lacks is NaN (the forest
/// routes NaN consistently, and the detectors treat it as unknown).
pub fn features(md: &Metadata) -> Vec<f32> {
    FEATURES
        .iter()
        .map(|(_, names)| {
            lookup(md, names)
                .and_then(Value::as_f64)
                .map_or(f32::NAN, |x| x as f32)
        })
        .collect()
}

/// A port column's value (numbers or digit strings).
pub fn port(md: &Metadata, names: &[&str]) -> Option<u32> {
    match lookup(md, names)? {
        Value::Number(n) => n.as_u64().and_then(|p| u32::try_from(p).ok()),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

fn matches_any(name: &str, names: &[&str]) -> bool {
    names.iter().any(|n| name.eq_ignore_ascii_case(n))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_cicids_namings_give_the_same_features_and_ids_never_count() {
        let md = |pairs: &[(&str, f64)]| -> Metadata {
            pairs
                .iter()
                .map(|(k, v)| (k.to_string(), serde_json::json!(v)))
                .collect()
        };
        let old = md(&[
            ("id", 7.0),
            ("Flow Duration", 100.0),
            ("Total Fwd Packets", 3.0),
            ("Attempted Category", -1.0),
        ]);
        let new = md(&[
            ("id", 9.0),
            (" Flow Duration", 100.0),
            ("Total Fwd Packet", 3.0),
        ]);
        let (a, b) = (features(&old), features(&new));
        assert_eq!(a.len(), FEATURES.len());
        assert_eq!(a[0], b[0]);
        assert_eq!(a[1], b[1]);
        assert!(a[2].is_nan());
        assert!(!a.contains(&7.0) && !a.contains(&-1.0));
        assert!(is_flow_header([
            "Src IP",
            "Dst Port",
            "Flow Duration",
            "Total Fwd Packet"
        ]));
        assert!(!is_flow_header(["time", "user", "bytes"]));
    }
}
