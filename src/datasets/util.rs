//! Small shared helpers: a byte buffer with fast formatting, JSON string escaping and random ids.

use rand::Rng;
use rand_chacha::ChaCha8Rng;

/// The one random generator type used everywhere (seeded, portable, fast).
pub(crate) type Rng8 = ChaCha8Rng;

/// Append-only formatting on a byte buffer (infallible, unlike `write!` on `io::Write`).
pub(crate) trait Put {
    fn s(&mut self, s: &str);
    fn u(&mut self, n: u64);
    /// Zero-padded to `width` digits.
    fn pad(&mut self, n: u64, width: usize);
    /// A quoted, escaped JSON string.
    fn js(&mut self, s: &str);
    /// A float with at most three decimals (trailing zeros trimmed).
    fn f3(&mut self, x: f64);
}

impl Put for Vec<u8> {
    fn s(&mut self, s: &str) {
        self.extend_from_slice(s.as_bytes());
    }

    fn u(&mut self, mut n: u64) {
        let mut tmp = [0u8; 20];
        let mut i = tmp.len();
        loop {
            i -= 1;
            tmp[i] = b'0' + (n % 10) as u8;
            n /= 10;
            if n == 0 {
                break;
            }
        }
        self.extend_from_slice(&tmp[i..]);
    }

    fn pad(&mut self, n: u64, width: usize) {
        let mut digits = 1;
        let mut m = n;
        while m >= 10 {
            m /= 10;
            digits += 1;
        }
        for _ in digits..width {
            self.push(b'0');
        }
        self.u(n);
    }

    fn js(&mut self, s: &str) {
        self.push(b'"');
        let bytes = s.as_bytes();
        let mut start = 0;
        for (i, &b) in bytes.iter().enumerate() {
            let esc: &[u8] = match b {
                b'"' => b"\\\"",
                b'\\' => b"\\\\",
                b'\n' => b"\\n",
                b'\r' => b"\\r",
                b'\t' => b"\\t",
                0..=0x1f => b"",
                _ => continue,
            };
            self.extend_from_slice(&bytes[start..i]);
            if esc.is_empty() {
                self.extend_from_slice(b"\\u00");
                self.push(HEX[(b >> 4) as usize]);
                self.push(HEX[(b & 15) as usize]);
            } else {
                self.extend_from_slice(esc);
            }
            start = i + 1;
        }
        self.extend_from_slice(&bytes[start..]);
        self.push(b'"');
    }

    fn f3(&mut self, x: f64) {
        let scaled = (x * 1000.0).round();
        if !scaled.is_finite() || scaled < 0.0 {
            self.push(b'0');
            return;
        }
        let scaled = scaled as u64;
        self.u(scaled / 1000);
        let mut frac = scaled % 1000;
        if frac != 0 {
            self.push(b'.');
            let mut width = 3;
            while frac.is_multiple_of(10) {
                frac /= 10;
                width -= 1;
            }
            self.pad(frac, width);
        }
    }
}

const HEX: &[u8; 16] = b"0123456789abcdef";
const UPPER_ALNUM: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
const ALNUM: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
const B64: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/// One element of a non-empty slice.
pub(crate) fn pick<'a, T>(rng: &mut Rng8, xs: &'a [T]) -> &'a T {
    &xs[rng.random_range(0..xs.len())]
}

/// One of a non-empty list of static strings.
pub(crate) fn pick_str(rng: &mut Rng8, xs: &[&'static str]) -> &'static str {
    xs[rng.random_range(0..xs.len())]
}

/// Index chosen with probability proportional to `weights` (which must not all be zero).
pub(crate) fn weighted(rng: &mut Rng8, weights: &[f64]) -> usize {
    let total: f64 = weights.iter().sum();
    let mut x = rng.random_range(0.0..total.max(f64::MIN_POSITIVE));
    for (i, w) in weights.iter().enumerate() {
        if x < *w {
            return i;
        }
        x -= w;
    }
    weights.len().saturating_sub(1)
}

/// Exponentially distributed delay with the given mean (milliseconds).
pub(crate) fn exp_ms(rng: &mut Rng8, mean: f64) -> i64 {
    let u: f64 = rng.random_range(f64::EPSILON..1.0);
    (-u.ln() * mean) as i64
}

/// Uniform integer in `lo..=hi` scaled by `k` (attack sizes shrink for small datasets), at least `min`.
pub(crate) fn scaled(rng: &mut Rng8, lo: u32, hi: u32, k: f64, min: u32) -> u32 {
    let x = rng.random_range(lo..=hi) as f64 * k;
    (x.round() as u32).max(min)
}

fn from_charset(rng: &mut Rng8, n: usize, set: &[u8]) -> String {
    (0..n)
        .map(|_| set[rng.random_range(0..set.len())] as char)
        .collect()
}

pub(crate) fn upper_alnum(rng: &mut Rng8, n: usize) -> String {
    from_charset(rng, n, UPPER_ALNUM)
}

pub(crate) fn alnum(rng: &mut Rng8, n: usize) -> String {
    from_charset(rng, n, ALNUM)
}

pub(crate) fn base64ish(rng: &mut Rng8, n: usize) -> String {
    from_charset(rng, n, B64)
}

pub(crate) fn hex(rng: &mut Rng8, n: usize) -> String {
    from_charset(rng, n, HEX)
}

/// An RFC 4122 version-4 UUID written into `out`.
pub(crate) fn put_uuid(out: &mut Vec<u8>, rng: &mut Rng8) {
    let mut b: [u8; 16] = rng.random();
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    for (i, byte) in b.iter().enumerate() {
        if matches!(i, 4 | 6 | 8 | 10) {
            out.push(b'-');
        }
        out.push(HEX[(byte >> 4) as usize]);
        out.push(HEX[(byte & 15) as usize]);
    }
}

pub(crate) fn uuid(rng: &mut Rng8) -> String {
    let mut v = Vec::with_capacity(36);
    put_uuid(&mut v, rng);
    String::from_utf8_lossy(&v).into_owned()
}

/// A 64-bit mix (SplitMix64 finaliser), used to derive sub-seeds and stable ids from numbers.
pub(crate) fn mix64(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// A stable 16-character upper-case id (for temporary `ASIA…` keys) derived from a number.
pub(crate) fn key_from(n: u64) -> String {
    let mut z = mix64(n);
    let mut s = String::with_capacity(16);
    for i in 0..16 {
        if i == 8 {
            z = mix64(z);
        }
        s.push(UPPER_ALNUM[(z % 36) as usize] as char);
        z /= 36;
    }
    s
}

/// `DescribeInstances` → `describe-instances` (how aws-cli names its commands in the user agent).
pub(crate) fn kebab(name: &str) -> String {
    let mut s = String::with_capacity(name.len() + 4);
    for (i, c) in name.chars().enumerate() {
        if c.is_ascii_uppercase() {
            if i > 0 {
                s.push('-');
            }
            s.push(c.to_ascii_lowercase());
        } else if !c.is_ascii_digit() {
            s.push(c);
        }
    }
    s
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    #[test]
    fn formatting_helpers() {
        let mut v = Vec::new();
        v.u(0);
        v.s(" ");
        v.pad(7, 2);
        v.s(" ");
        v.f3(2.5);
        v.s(" ");
        v.f3(3.0);
        v.s(" ");
        v.f3(0.0625);
        v.s(" ");
        v.js("a\"b\\c\u{1}");
        assert_eq!(
            String::from_utf8(v).unwrap(),
            r#"0 07 2.5 3 0.063 "a\"b\\c\u0001""#
        );
        let mut rng = Rng8::seed_from_u64(1);
        let id = uuid(&mut rng);
        assert_eq!(id.len(), 36);
        assert_eq!(&id[14..15], "4");
        assert_eq!(kebab("ListFunctions20150331"), "list-functions");
    }
}
