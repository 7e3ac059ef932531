//! Who is asking: the address the sign-in limits count. The client writes
//! `X-Forwarded-For` as it likes, so only the hops that trusted proxies
//! added count: when the peer is one of `--trusted-proxies`, the client is
//! the right-most address of `X-Forwarded-For` that is not a trusted proxy
//! itself; otherwise it is the peer. The web shell, which calls the API
//! from this very process, passes on the address of the browser it serves
//! (read by the same rule at its WebSocket's upgrade), with a key only this
//! process knows.

use std::net::IpAddr;

use axum::http::HeaderMap;

/// An address or a network (`10.0.0.0/8`, `::1`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cidr {
    network: IpAddr,
    prefix: u8,
}

impl std::str::FromStr for Cidr {
    type Err = String;

    fn from_str(text: &str) -> Result<Cidr, String> {
        let text = text.trim();
        let (address, prefix) = match text.split_once('/') {
            Some((a, p)) => (a, Some(p)),
            None => (text, None),
        };
        let network: IpAddr = address
            .parse()
            .map_err(|_| format!("{text:?} is not an IP address or network (10.0.0.0/8, ::1)"))?;
        let max = if network.is_ipv4() { 32 } else { 128 };
        let prefix = match prefix {
            None => max,
            Some(p) => p
                .parse::<u8>()
                .ok()
                .filter(|p| *p <= max)
                .ok_or_else(|| format!("{text:?}: the prefix must be 0 to {max}"))?,
        };
        Ok(Cidr {
            network: canonical(network),
            prefix,
        })
    }
}

/// IPv4-mapped IPv6 addresses as the IPv4 they are.
fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map(IpAddr::V4).unwrap_or(ip),
        v4 => v4,
    }
}

impl Cidr {
    pub fn contains(&self, ip: IpAddr) -> bool {
        match (self.network, canonical(ip)) {
            (IpAddr::V4(net), IpAddr::V4(ip)) => {
                let mask = u32::MAX
                    .checked_shl(32 - u32::from(self.prefix))
                    .unwrap_or(0);
                u32::from(net) & mask == u32::from(ip) & mask
            }
            (IpAddr::V6(net), IpAddr::V6(ip)) => {
                let mask = u128::MAX
                    .checked_shl(128 - u32::from(self.prefix))
                    .unwrap_or(0);
                u128::from(net) & mask == u128::from(ip) & mask
            }
            _ => false,
        }
    }
}

/// The header the web shell passes the browser's address in, with
/// [`SHELL_KEY_HEADER`].
pub const SHELL_CLIENT_HEADER: &str = "x-lotocar-shell-client";
pub const SHELL_KEY_HEADER: &str = "x-lotocar-shell-key";

/// The client's address, by the rule above.
pub fn client_ip(peer: IpAddr, headers: &HeaderMap, trusted: &[Cidr]) -> IpAddr {
    let peer = canonical(peer);
    let is_trusted = |ip: IpAddr| trusted.iter().any(|c| c.contains(ip));
    if !is_trusted(peer) {
        return peer;
    }
    let hops: Vec<IpAddr> = headers
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .filter_map(|hop| hop.trim().parse::<IpAddr>().ok())
        .map(canonical)
        .collect();
    hops.iter()
        .rev()
        .copied()
        .find(|ip| !is_trusted(*ip))
        // Every hop is a proxy of ours: the farthest one.
        .or_else(|| hops.first().copied())
        .unwrap_or(peer)
}

/// The browser's address the web shell passed on, when the request comes
/// from this process (loopback, with its key).
pub fn from_shell(peer: IpAddr, headers: &HeaderMap, shell_key: &str) -> Option<IpAddr> {
    if !canonical(peer).is_loopback() {
        return None;
    }
    let key = headers.get(SHELL_KEY_HEADER)?.to_str().ok()?;
    if !bool::from(subtle::ConstantTimeEq::ct_eq(
        key.as_bytes(),
        shell_key.as_bytes(),
    )) {
        return None;
    }
    headers
        .get(SHELL_CLIENT_HEADER)?
        .to_str()
        .ok()?
        .parse::<IpAddr>()
        .ok()
        .map(canonical)
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn forwarded(value: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert("x-forwarded-for", HeaderValue::from_str(value).unwrap());
        headers
    }

    fn ip(text: &str) -> IpAddr {
        text.parse().unwrap()
    }

    #[test]
    fn networks_contain_their_addresses() {
        let net: Cidr = "10.0.0.0/8".parse().unwrap();
        assert!(net.contains(ip("10.200.1.2")));
        assert!(!net.contains(ip("11.0.0.1")));
        assert!(net.contains(ip("::ffff:10.1.1.1")));
        let one: Cidr = "::1".parse().unwrap();
        assert!(one.contains(ip("::1")));
        assert!(!one.contains(ip("::2")));
        let all: Cidr = "0.0.0.0/0".parse().unwrap();
        assert!(all.contains(ip("203.0.113.9")));
        assert!("10.0.0.0/33".parse::<Cidr>().is_err());
        assert!("proxy".parse::<Cidr>().is_err());
    }

    #[test]
    fn only_hops_added_by_trusted_proxies_count() {
        let trusted: Vec<Cidr> = vec!["127.0.0.1".parse().unwrap(), "10.0.0.0/8".parse().unwrap()];
        // The client forged the first hop; the proxy appended the real one.
        assert_eq!(
            client_ip(
                ip("127.0.0.1"),
                &forwarded("6.6.6.6, 203.0.113.7"),
                &trusted
            ),
            ip("203.0.113.7")
        );
        // Two proxies of ours in a row.
        assert_eq!(
            client_ip(
                ip("10.0.0.2"),
                &forwarded("6.6.6.6, 203.0.113.7, 10.0.0.1"),
                &trusted
            ),
            ip("203.0.113.7")
        );
        // A peer that is not a proxy of ours: its header is ignored.
        assert_eq!(
            client_ip(ip("198.51.100.4"), &forwarded("203.0.113.7"), &trusted),
            ip("198.51.100.4")
        );
        // No proxy configured: the peer.
        assert_eq!(
            client_ip(ip("127.0.0.1"), &forwarded("203.0.113.7"), &[]),
            ip("127.0.0.1")
        );
    }

    #[test]
    fn the_shell_is_believed_only_with_its_key() {
        let mut headers = HeaderMap::new();
        headers.insert(SHELL_CLIENT_HEADER, HeaderValue::from_static("203.0.113.7"));
        headers.insert(SHELL_KEY_HEADER, HeaderValue::from_static("k3y"));
        assert_eq!(
            from_shell(ip("127.0.0.1"), &headers, "k3y"),
            Some(ip("203.0.113.7"))
        );
        assert_eq!(from_shell(ip("127.0.0.1"), &headers, "other"), None);
        assert_eq!(from_shell(ip("198.51.100.4"), &headers, "k3y"), None);
    }
}
