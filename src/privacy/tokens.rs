//! Pseudonym formats (the seed's): `IP_ADDRESS_1`, `user1***@company.com`, `USER_A`, `HOST_1`.

/// What kind of value a pseudonym stands for; also the domain separator of its lookup key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Kind {
    Ip = 1,
    Email = 2,
    User = 3,
    Host = 4,
}

impl Kind {
    pub const ALL: [Kind; 4] = [Kind::Ip, Kind::Email, Kind::User, Kind::Host];

    pub fn counter_key(self) -> &'static str {
        match self {
            Kind::Ip => "counter/ip",
            Kind::Email => "counter/email",
            Kind::User => "counter/user",
            Kind::Host => "counter/host",
        }
    }
}

/// The `n`-th (1-based) token of `kind`. For emails `raw` supplies the (kept) domain.
pub fn format_token(kind: Kind, n: u64, raw: &str) -> String {
    match kind {
        Kind::Ip => format!("IP_ADDRESS_{n}"),
        Kind::Host => format!("HOST_{n}"),
        Kind::User => format!("USER_{}", letters(n)),
        Kind::Email => {
            let domain = raw.rsplit_once('@').map(|(_, d)| d).unwrap_or("invalid");
            format!("user{n}***@{}", domain.to_ascii_lowercase())
        }
    }
}

/// Bijective base-26: 1 → A, 26 → Z, 27 → AA, 28 → AB …
pub fn letters(mut n: u64) -> String {
    let mut out = Vec::new();
    while n > 0 {
        n -= 1;
        out.push(b'A' + (n % 26) as u8);
        n /= 26;
    }
    out.reverse();
    String::from_utf8(out).unwrap_or_default()
}

/// True if `s` is already one of our tokens (never pseudonymise a pseudonym).
pub fn is_token(s: &str) -> bool {
    if let Some(rest) = s
        .strip_prefix("IP_ADDRESS_")
        .or_else(|| s.strip_prefix("HOST_"))
    {
        return !rest.is_empty() && rest.bytes().all(|b| b.is_ascii_digit());
    }
    if let Some(rest) = s.strip_prefix("USER_") {
        return !rest.is_empty() && rest.bytes().all(|b| b.is_ascii_uppercase());
    }
    if let Some(rest) = s.strip_prefix("user")
        && let Some((num, _)) = rest.split_once("***@")
    {
        return !num.is_empty() && num.bytes().all(|b| b.is_ascii_digit());
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn letters_are_bijective_base26() {
        assert_eq!(letters(1), "A");
        assert_eq!(letters(26), "Z");
        assert_eq!(letters(27), "AA");
        assert_eq!(letters(28), "AB");
        assert_eq!(letters(702), "ZZ");
        assert_eq!(letters(703), "AAA");
    }

    #[test]
    fn token_shapes() {
        assert_eq!(format_token(Kind::Ip, 3, "10.0.0.1"), "IP_ADDRESS_3");
        assert_eq!(
            format_token(Kind::Email, 2, "Bob@Company.com"),
            "user2***@company.com"
        );
        assert_eq!(format_token(Kind::User, 3, "carol"), "USER_C");
        assert!(is_token("USER_AB"));
        assert!(is_token("user12***@x.org"));
        assert!(is_token("IP_ADDRESS_9"));
        assert!(!is_token("USER_"));
        assert!(!is_token("alice"));
    }
}
