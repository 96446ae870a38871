//! Which client a sign-in comes from, for the per-address limit (`flood.rs`).
//!
//! Directly reached, the client is the TCP peer. Behind a reverse proxy (nginx) every peer
//! is the proxy, so the proxy must say who its client was, and only a proxy may be believed:
//! anyone can send an `X-Forwarded-For` header. So the header is read only when the peer is
//! one of `IVR_TRUSTED_PROXIES` (addresses or networks, e.g. `127.0.0.1,10.0.0.0/8`), and
//! then from the right: each proxy appends the address it was reached from, so the
//! rightmost entry not itself a trusted proxy is the first one nobody can forge. nginx:
//! `proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;`. Without the setting
//! behind a proxy, every client counts as the proxy's one address: one stranger's failures
//! would then close sign-in for everyone, so a header from an untrusted peer is warned about
//! once in the log.
//!
//! An IPv6 client is counted by its /64 network: one host usually holds a whole /64.

use std::net::{IpAddr, Ipv6Addr, SocketAddr};
use std::sync::atomic::{AtomicBool, Ordering};

use axum::http::HeaderMap;
use ipnet::IpNet;

pub const FORWARDED_FOR: &str = "x-forwarded-for";

/// The address the sign-in limits count for a request from `peer` carrying `headers`.
/// `None` when the peer is unknown (a request not from a socket, as in router tests).
pub fn client_address(peer: Option<SocketAddr>, headers: &HeaderMap, trusted: &[IpNet]) -> Option<IpAddr> {
    let peer = peer?.ip().to_canonical();
    let is_trusted = |ip: &IpAddr| trusted.iter().any(|net| net.contains(ip));
    let forwarded = headers.get_all(FORWARDED_FOR).iter().filter_map(|v| v.to_str().ok());
    let hops: Vec<&str> = forwarded.flat_map(|v| v.split(',')).map(str::trim).collect();
    if !is_trusted(&peer) {
        if !hops.is_empty() {
            warn_untrusted_header(peer);
        }
        return Some(limited(peer));
    }
    let mut client = peer;
    for hop in hops.iter().rev() {
        if !is_trusted(&client) {
            break;
        }
        match hop.parse::<IpAddr>() {
            Ok(ip) => client = ip.to_canonical(),
            Err(_) => break,
        }
    }
    Some(limited(client))
}

/// IPv6 by its /64 network, IPv4 whole.
fn limited(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V4(_) => ip,
        IpAddr::V6(v6) => IpAddr::V6(Ipv6Addr::from(v6.to_bits() & !u128::from(u64::MAX))),
    }
}

fn warn_untrusted_header(peer: IpAddr) {
    static WARNED: AtomicBool = AtomicBool::new(false);
    if !WARNED.swap(true, Ordering::Relaxed) {
        tracing::warn!(
            %peer,
            "a sign-in came through a proxy that is not in IVR_TRUSTED_PROXIES: its X-Forwarded-For is ignored, \
             and every client behind it counts as one for the sign-in limits"
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn from(peer: &str, forwarded: &[&str], trusted: &[&str]) -> Option<String> {
        let mut headers = HeaderMap::new();
        for value in forwarded {
            headers.append(FORWARDED_FOR, value.parse().unwrap());
        }
        let trusted: Vec<IpNet> = trusted.iter().map(|t| t.parse().unwrap()).collect();
        let peer = SocketAddr::new(peer.parse().unwrap(), 40_000);
        client_address(Some(peer), &headers, &trusted).map(|ip| ip.to_string())
    }

    #[test]
    fn the_header_is_believed_only_from_a_trusted_proxy() {
        assert_eq!(from("203.0.113.7", &["10.9.9.9"], &[]).as_deref(), Some("203.0.113.7"));
        assert_eq!(from("203.0.113.7", &["10.9.9.9"], &["127.0.0.1/32"]).as_deref(), Some("203.0.113.7"));
        assert_eq!(from("127.0.0.1", &["203.0.113.7"], &["127.0.0.1/32"]).as_deref(), Some("203.0.113.7"));
        assert_eq!(from("127.0.0.1", &[], &["127.0.0.1/32"]).as_deref(), Some("127.0.0.1"));
    }

    #[test]
    fn the_rightmost_address_no_trusted_proxy_added_is_the_client() {
        let trusted = ["127.0.0.1/32", "10.0.0.0/8"];
        // The client forged the first entry; the edge proxy 10.0.0.5 appended the real one.
        let forged = ["6.6.6.6, 203.0.113.7, 10.0.0.5"];
        assert_eq!(from("127.0.0.1", &forged, &trusted).as_deref(), Some("203.0.113.7"));
        let split = ["6.6.6.6", "203.0.113.7", "10.0.0.5"];
        assert_eq!(from("127.0.0.1", &split, &trusted).as_deref(), Some("203.0.113.7"), "over several headers");
        assert_eq!(from("127.0.0.1", &["garbage"], &trusted).as_deref(), Some("127.0.0.1"), "unreadable: the proxy");
    }

    #[test]
    fn an_ipv6_client_counts_by_its_64_network_and_mapped_ipv4_as_ipv4() {
        assert_eq!(from("2001:db8:1:2:aaaa::1", &[], &[]).as_deref(), Some("2001:db8:1:2::"));
        assert_eq!(from("::ffff:203.0.113.7", &[], &[]).as_deref(), Some("203.0.113.7"));
    }
}
