//! Which addresses a user's load and the server's own fetches may reach.
//!
//! A shared service must be no way into the network it runs in: by default
//! a non-admin may not reach loopback, private ranges, link-local and cloud
//! metadata addresses, nor the unspecified, multicast and broadcast ones —
//! in any spelling, IPv4-mapped and IPv4-compatible IPv6 included. The admin
//! opens networks (CIDRs) per user; an address inside one of them is allowed
//! whatever its class. Public addresses are allowed by the network policy
//! (ownership proof is a separate gate).

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::str::FromStr;

/// A network: an address and a prefix length, `10.0.0.0/8`, `::1/128`; a
/// bare address is a network of one.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Cidr {
    addr: IpAddr,
    prefix: u8,
}

/// A text that is not a network.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{text:?} is not a network: {why} (write an address such as 127.0.0.2 or a CIDR such as 10.1.0.0/16 or fd00::/8)")]
pub struct CidrError {
    text: String,
    why: &'static str,
}

impl Cidr {
    pub const fn new(addr: IpAddr, prefix: u8) -> Cidr {
        Cidr { addr, prefix }
    }

    /// Whether `ip` is inside; an IPv4 network also holds the IPv4-mapped
    /// IPv6 spelling of its addresses.
    pub fn contains(&self, ip: IpAddr) -> bool {
        match (self.addr, canonical(ip)) {
            (IpAddr::V4(net), IpAddr::V4(ip)) => prefix_eq(
                u128::from(net.to_bits()) << 96,
                u128::from(ip.to_bits()) << 96,
                self.prefix,
            ),
            (IpAddr::V6(net), IpAddr::V6(ip)) => {
                prefix_eq(net.to_bits(), ip.to_bits(), self.prefix)
            }
            _ => false,
        }
    }
}

/// Whether the first `prefix` bits of `a` and `b` are equal.
fn prefix_eq(a: u128, b: u128, prefix: u8) -> bool {
    if prefix == 0 {
        return true;
    }
    let mask = u128::MAX << (128 - u32::from(prefix.min(128)));
    a & mask == b & mask
}

impl FromStr for Cidr {
    type Err = CidrError;

    fn from_str(text: &str) -> Result<Cidr, CidrError> {
        let fail = |why| CidrError {
            text: text.to_owned(),
            why,
        };
        let (addr, prefix) = match text.trim().split_once('/') {
            Some((a, p)) => (a, Some(p)),
            None => (text.trim(), None),
        };
        let addr = addr.trim_start_matches('[').trim_end_matches(']');
        let addr: IpAddr = addr.parse().map_err(|_| fail("not an IP address"))?;
        let max = if addr.is_ipv4() { 32 } else { 128 };
        let prefix = match prefix {
            None => max,
            Some(p) => p
                .parse::<u8>()
                .map_err(|_| fail("the prefix length is not a number"))?,
        };
        if prefix > max {
            return Err(fail("the prefix length is longer than the address"));
        }
        // Kept as written, but with the host bits cleared, so `10.1.2.3/8`
        // shows as what it means.
        let addr = match addr {
            IpAddr::V4(a) => {
                let bits = if prefix == 0 {
                    0
                } else {
                    a.to_bits() & (u32::MAX << (32 - u32::from(prefix)))
                };
                IpAddr::V4(Ipv4Addr::from_bits(bits))
            }
            IpAddr::V6(a) => {
                let bits = if prefix == 0 {
                    0
                } else {
                    a.to_bits() & (u128::MAX << (128 - u32::from(prefix)))
                };
                IpAddr::V6(Ipv6Addr::from_bits(bits))
            }
        };
        Ok(Cidr { addr, prefix })
    }
}

impl TryFrom<String> for Cidr {
    type Error = CidrError;
    fn try_from(text: String) -> Result<Cidr, CidrError> {
        text.parse()
    }
}

impl From<Cidr> for String {
    fn from(cidr: Cidr) -> String {
        cidr.to_string()
    }
}

impl fmt::Display for Cidr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.addr, self.prefix)
    }
}

/// Why an address is refused unless the admin opened it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Reserved {
    Unspecified,
    Loopback,
    Private,
    SharedAddressSpace,
    LinkLocal,
    CloudMetadata,
    UniqueLocal,
    Multicast,
    Broadcast,
    Reserved,
}

impl Reserved {
    pub fn describe(self) -> &'static str {
        match self {
            Reserved::Unspecified => "an unspecified (\"this network\") address",
            Reserved::Loopback => "a loopback address",
            Reserved::Private => "a private address (RFC 1918)",
            Reserved::SharedAddressSpace => "a carrier-grade NAT address (RFC 6598)",
            Reserved::LinkLocal => "a link-local address",
            Reserved::CloudMetadata => "a cloud metadata address",
            Reserved::UniqueLocal => "a unique local IPv6 address (fc00::/7)",
            Reserved::Multicast => "a multicast address",
            Reserved::Broadcast => "the broadcast address",
            Reserved::Reserved => "a reserved or special-purpose address",
        }
    }
}

/// The cloud metadata services: AWS, GCP, Azure, OpenStack and most others
/// answer at 169.254.169.254; AWS also at fd00:ec2::254; Alibaba at
/// 100.100.100.200; Oracle at 192.0.0.192.
const METADATA: [IpAddr; 4] = [
    IpAddr::V4(Ipv4Addr::new(169, 254, 169, 254)),
    IpAddr::V6(Ipv6Addr::new(0xfd00, 0x0ec2, 0, 0, 0, 0, 0, 0x0254)),
    IpAddr::V4(Ipv4Addr::new(100, 100, 100, 200)),
    IpAddr::V4(Ipv4Addr::new(192, 0, 0, 192)),
];

/// The IPv4 address an IPv6 address stands for, where it embeds one that a
/// host or a translator would reach: IPv4-mapped (`::ffff:a.b.c.d`),
/// IPv4-compatible (`::a.b.c.d`, deprecated but still routed by some
/// stacks), NAT64 (`64:ff9b::/96`) and 6to4 (`2002:AABB:CCDD::/48`).
fn embedded_v4(ip: Ipv6Addr) -> Option<Ipv4Addr> {
    let bits = ip.to_bits();
    let low32 = Ipv4Addr::from_bits((bits & 0xffff_ffff) as u32);
    if bits >> 32 == 0xffff {
        return Some(low32);
    }
    // `::` and `::1` are IPv6's own unspecified and loopback addresses.
    if bits >> 32 == 0 && bits > 1 {
        return Some(low32);
    }
    if bits >> 32 == 0x0064_ff9b_0000_0000_0000_0000 {
        return Some(low32);
    }
    let segments = ip.segments();
    if segments[0] == 0x2002 {
        return Some(Ipv4Addr::from_bits(
            (u32::from(segments[1]) << 16) | u32::from(segments[2]),
        ));
    }
    None
}

/// The address as compared with networks: IPv4-mapped IPv6 as IPv4, the
/// way the kernel routes it.
fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => ip,
        },
        IpAddr::V4(_) => ip,
    }
}

/// Which refused class `ip` is in, if any.
pub fn reserved(ip: IpAddr) -> Option<Reserved> {
    if METADATA.contains(&ip) {
        return Some(Reserved::CloudMetadata);
    }
    match ip {
        IpAddr::V4(v4) => reserved_v4(v4),
        IpAddr::V6(v6) => {
            if let Some(v4) = embedded_v4(v6) {
                if METADATA.contains(&IpAddr::V4(v4)) {
                    return Some(Reserved::CloudMetadata);
                }
                if let Some(class) = reserved_v4(v4) {
                    return Some(class);
                }
            }
            reserved_v6(v6)
        }
    }
}

fn reserved_v4(ip: Ipv4Addr) -> Option<Reserved> {
    let [a, b, c, _] = ip.octets();
    Some(match (a, b, c) {
        _ if ip.is_broadcast() => Reserved::Broadcast,
        (0, _, _) => Reserved::Unspecified,
        (127, _, _) => Reserved::Loopback,
        (10, _, _) | (192, 168, _) => Reserved::Private,
        (172, b, _) if (16..32).contains(&b) => Reserved::Private,
        (100, b, _) if (64..128).contains(&b) => Reserved::SharedAddressSpace,
        (169, 254, _) => Reserved::LinkLocal,
        (224..=239, _, _) => Reserved::Multicast,
        // 240/4 (future use), 192.0.0/24 (protocol assignments), 198.18/15
        // (benchmarking, often lab networks).
        (240..=255, _, _) | (192, 0, 0) => Reserved::Reserved,
        (198, 18 | 19, _) => Reserved::Reserved,
        _ => return None,
    })
}

fn reserved_v6(ip: Ipv6Addr) -> Option<Reserved> {
    let first = ip.segments()[0];
    Some(match ip {
        _ if ip.is_unspecified() => Reserved::Unspecified,
        _ if ip.is_loopback() => Reserved::Loopback,
        _ if first & 0xfe00 == 0xfc00 => Reserved::UniqueLocal,
        // fe80::/10 link-local, and fec0::/10, the deprecated site-local.
        _ if first & 0xffc0 == 0xfe80 => Reserved::LinkLocal,
        _ if first & 0xffc0 == 0xfec0 => Reserved::Private,
        _ if first & 0xff00 == 0xff00 => Reserved::Multicast,
        // 64:ff9b:1::/48, NAT64 for local use (RFC 8215); the rest of the
        // IPv4-embedding forms were judged by their IPv4 address above.
        _ if first == 0x0064 && ip.segments()[1] == 0xff9b && ip.segments()[2] == 1 => {
            Reserved::Private
        }
        // ::/96 is the IPv4-compatible form: of a public address still
        // nothing a target has a reason to be spelt as.
        _ if ip.to_bits() >> 32 == 0 => Reserved::Reserved,
        _ => return None,
    })
}

/// The networks one user may reach beyond the public ones; an admin
/// reaches everything.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct NetworkPolicy {
    /// No restriction at all (admins, and a server that serves one team).
    #[serde(default)]
    pub unrestricted: bool,
    /// Networks opened by the admin, reachable whatever their class.
    #[serde(default)]
    pub allowed: Vec<Cidr>,
}

/// An address the policy refuses, and why.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{addr} is {} and is not in a network the admin allowed{}", class.describe(), allowed_hint(.allowed))]
pub struct Refused {
    pub addr: IpAddr,
    pub class: Reserved,
    pub allowed: Vec<Cidr>,
}

fn allowed_hint(allowed: &[Cidr]) -> String {
    if allowed.is_empty() {
        " (none are; an admin opens one with `pummel server network allow CIDR --user NAME`)".into()
    } else {
        let list: Vec<String> = allowed.iter().map(ToString::to_string).collect();
        format!(" ({})", list.join(", "))
    }
}

impl NetworkPolicy {
    /// No restriction: an admin's.
    pub fn unrestricted() -> NetworkPolicy {
        NetworkPolicy {
            unrestricted: true,
            allowed: Vec::new(),
        }
    }

    /// The default for a non-admin, plus the networks opened for them.
    pub fn restricted(allowed: Vec<Cidr>) -> NetworkPolicy {
        NetworkPolicy {
            unrestricted: false,
            allowed,
        }
    }

    /// Whether `ip` may be reached.
    pub fn check(&self, ip: IpAddr) -> Result<(), Refused> {
        if self.unrestricted || self.allowed.iter().any(|net| net.contains(ip)) {
            return Ok(());
        }
        match reserved(ip) {
            None => Ok(()),
            Some(class) => Err(Refused {
                addr: ip,
                class,
                allowed: self.allowed.clone(),
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(text: &str) -> IpAddr {
        text.parse().unwrap()
    }

    fn class(text: &str) -> Option<Reserved> {
        reserved(ip(text))
    }

    #[test]
    fn ipv4_classes() {
        assert_eq!(class("127.0.0.1"), Some(Reserved::Loopback));
        assert_eq!(class("127.255.255.254"), Some(Reserved::Loopback));
        assert_eq!(class("10.0.0.1"), Some(Reserved::Private));
        assert_eq!(class("172.16.0.1"), Some(Reserved::Private));
        assert_eq!(class("172.31.255.255"), Some(Reserved::Private));
        assert_eq!(class("172.32.0.1"), None);
        assert_eq!(class("172.15.0.1"), None);
        assert_eq!(class("192.168.1.1"), Some(Reserved::Private));
        assert_eq!(class("169.254.1.1"), Some(Reserved::LinkLocal));
        assert_eq!(class("169.254.169.254"), Some(Reserved::CloudMetadata));
        assert_eq!(class("100.100.100.200"), Some(Reserved::CloudMetadata));
        assert_eq!(class("100.64.0.1"), Some(Reserved::SharedAddressSpace));
        assert_eq!(class("0.0.0.0"), Some(Reserved::Unspecified));
        assert_eq!(class("0.1.2.3"), Some(Reserved::Unspecified));
        assert_eq!(class("224.0.0.1"), Some(Reserved::Multicast));
        assert_eq!(class("239.255.255.250"), Some(Reserved::Multicast));
        assert_eq!(class("255.255.255.255"), Some(Reserved::Broadcast));
        assert_eq!(class("240.0.0.1"), Some(Reserved::Reserved));
        assert_eq!(class("8.8.8.8"), None);
        assert_eq!(class("93.184.216.34"), None);
        assert_eq!(class("1.1.1.1"), None);
    }

    #[test]
    fn ipv6_classes() {
        assert_eq!(class("::1"), Some(Reserved::Loopback));
        assert_eq!(class("::"), Some(Reserved::Unspecified));
        assert_eq!(class("fc00::1"), Some(Reserved::UniqueLocal));
        assert_eq!(class("fd12:3456::1"), Some(Reserved::UniqueLocal));
        assert_eq!(class("fd00:ec2::254"), Some(Reserved::CloudMetadata));
        assert_eq!(class("fe80::1"), Some(Reserved::LinkLocal));
        assert_eq!(class("febf::1"), Some(Reserved::LinkLocal));
        assert_eq!(class("ff02::1"), Some(Reserved::Multicast));
        assert_eq!(class("2606:4700:4700::1111"), None);
        assert_eq!(class("2001:db8::1"), None);
    }

    #[test]
    fn ipv4_inside_ipv6_is_judged_as_ipv4() {
        // IPv4-mapped
        assert_eq!(class("::ffff:127.0.0.1"), Some(Reserved::Loopback));
        assert_eq!(class("::ffff:7f00:1"), Some(Reserved::Loopback));
        assert_eq!(class("::ffff:10.1.2.3"), Some(Reserved::Private));
        assert_eq!(
            class("::ffff:169.254.169.254"),
            Some(Reserved::CloudMetadata)
        );
        assert_eq!(class("::ffff:0.0.0.0"), Some(Reserved::Unspecified));
        assert_eq!(class("::ffff:8.8.8.8"), None);
        // IPv4-compatible, NAT64, 6to4
        assert_eq!(class("::127.0.0.1"), Some(Reserved::Loopback));
        assert_eq!(class("::192.168.0.1"), Some(Reserved::Private));
        assert_eq!(class("64:ff9b::127.0.0.1"), Some(Reserved::Loopback));
        assert_eq!(class("64:ff9b::a9fe:a9fe"), Some(Reserved::CloudMetadata));
        assert_eq!(class("2002:7f00:1::"), Some(Reserved::Loopback));
        assert_eq!(class("2002:c0a8:0101::1"), Some(Reserved::Private));
        assert_eq!(class("2002:0808:0808::1"), None);
        // compat form of a public address is still an odd thing to dial
        assert_eq!(class("::8.8.8.8"), Some(Reserved::Reserved));
    }

    #[test]
    fn networks_parse_and_contain() {
        let one: Cidr = "127.0.0.2".parse().unwrap();
        assert_eq!(one.to_string(), "127.0.0.2/32");
        assert!(one.contains(ip("127.0.0.2")));
        assert!(one.contains(ip("::ffff:127.0.0.2")));
        assert!(!one.contains(ip("127.0.0.1")));
        let net: Cidr = "10.1.2.3/8".parse().unwrap();
        assert_eq!(net.to_string(), "10.0.0.0/8");
        assert!(net.contains(ip("10.200.0.1")));
        assert!(!net.contains(ip("11.0.0.1")));
        let v6: Cidr = "[fd00::]/8".parse().unwrap();
        assert!(v6.contains(ip("fd12::1")));
        assert!(!v6.contains(ip("fe80::1")));
        assert!(!v6.contains(ip("10.0.0.1")));
        let all: Cidr = "0.0.0.0/0".parse().unwrap();
        assert!(all.contains(ip("127.0.0.1")));
        assert!(!all.contains(ip("::1")));
        for bad in [
            "127.0.0.1/33",
            "::1/129",
            "localhost",
            "10.0.0.0/x",
            "",
            "1.2.3/8",
        ] {
            let err = bad.parse::<Cidr>().unwrap_err().to_string();
            assert!(err.contains("is not a network"), "{bad}: {err}");
        }
    }

    #[test]
    fn the_policy_refuses_by_default_and_opens_what_the_admin_allowed() {
        let policy = NetworkPolicy::restricted(vec!["127.0.0.2".parse().unwrap()]);
        assert!(policy.check(ip("127.0.0.2")).is_ok());
        assert!(policy.check(ip("::ffff:127.0.0.2")).is_ok());
        assert!(policy.check(ip("8.8.8.8")).is_ok());
        let refused = policy.check(ip("127.0.0.1")).unwrap_err();
        assert_eq!(refused.class, Reserved::Loopback);
        let text = refused.to_string();
        assert!(text.contains("127.0.0.1 is a loopback address"), "{text}");
        assert!(text.contains("127.0.0.2/32"), "{text}");
        assert!(policy.check(ip("::ffff:127.0.0.1")).is_err());
        assert!(policy.check(ip("::1")).is_err());
        assert!(policy.check(ip("169.254.169.254")).is_err());
        let none = NetworkPolicy::restricted(Vec::new());
        assert!(none
            .check(ip("10.0.0.1"))
            .unwrap_err()
            .to_string()
            .contains("network allow"));
        assert!(NetworkPolicy::unrestricted().check(ip("127.0.0.1")).is_ok());
    }

    #[test]
    fn policies_round_trip_as_json() {
        let policy = NetworkPolicy::restricted(vec![
            "127.0.0.2".parse().unwrap(),
            "fd00::/8".parse().unwrap(),
        ]);
        let text = serde_json::to_string(&policy).unwrap();
        assert_eq!(
            text,
            r#"{"unrestricted":false,"allowed":["127.0.0.2/32","fd00::/8"]}"#
        );
        assert_eq!(
            serde_json::from_str::<NetworkPolicy>(&text).unwrap(),
            policy
        );
        assert!(serde_json::from_str::<NetworkPolicy>(r#"{"allowed":["x"]}"#).is_err());
    }
}
