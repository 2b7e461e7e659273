//! IP truncation: the only form of a visitor's address that is ever
//! stored (then encrypted, see `cipher`). IPv4 keeps its /24, IPv6 its /48.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// Zeroes the host part: IPv4 to /24, IPv6 to /48. An IPv4-mapped IPv6
/// address is treated as the IPv4 address it carries.
pub fn truncate(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V4(v4) => IpAddr::V4(truncate_v4(v4)),
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(truncate_v4(v4)),
            None => {
                let s = v6.segments();
                IpAddr::V6(Ipv6Addr::new(s[0], s[1], s[2], 0, 0, 0, 0, 0))
            }
        },
    }
}

fn truncate_v4(v4: Ipv4Addr) -> Ipv4Addr {
    let [a, b, c, _] = v4.octets();
    Ipv4Addr::new(a, b, c, 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(s: &str) -> String {
        truncate(s.parse().unwrap()).to_string()
    }

    #[test]
    fn ipv4_keeps_the_slash_24() {
        assert_eq!(t("203.0.113.77"), "203.0.113.0");
        assert_eq!(t("10.1.2.255"), "10.1.2.0");
    }

    #[test]
    fn ipv6_keeps_the_slash_48() {
        assert_eq!(t("2001:db8:abcd:12:1:2:3:4"), "2001:db8:abcd::");
        assert_eq!(t("::1"), "::");
    }

    #[test]
    fn mapped_ipv4_is_truncated_as_ipv4() {
        assert_eq!(t("::ffff:198.51.100.23"), "198.51.100.0");
    }
}
