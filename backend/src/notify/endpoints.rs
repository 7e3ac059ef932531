//! Where the server may send a push: a push subscription's endpoint is an
//! address a user gave us, so it is never fetched blindly. Only `https://`
//! to a host that is not, and does not resolve to, a loopback, private,
//! link-local, unique-local, shared, multicast, broadcast, documentation or
//! unspecified address (IPv4 and IPv6, IPv4-mapped and the decimal or octal
//! spellings of IPv4 included: the URL parser normalises them). The check
//! is made when the browser subscribes, and again when each push is sent,
//! on the addresses the connection actually uses (a resolver that drops
//! the others), so a name that later resolves elsewhere (DNS rebinding)
//! reaches nothing inside. No redirect is followed.
//!
//! For tests with a local receiver, `--dev-allow-local-push` (refused
//! without `--dev`) also accepts `http://` to loopback addresses.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use reqwest::Url;
use reqwest::dns::{Addrs, Name, Resolve, Resolving};

/// How long resolving an endpoint's host may take when a browser
/// subscribes.
const RESOLVE_TIMEOUT: Duration = Duration::from_secs(3);

/// What may be pushed to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Policy {
    /// `--dev-allow-local-push`: `http://` to loopback too.
    pub allow_local: bool,
}

/// Whether an address is one the server must not reach for a user.
pub fn is_internal(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => internal_v4(v4),
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => internal_v4(v4),
            None => internal_v6(v6),
        },
    }
}

fn internal_v4(ip: Ipv4Addr) -> bool {
    let [a, b, _, _] = ip.octets();
    ip.is_unspecified()
        || ip.is_loopback()
        || ip.is_private()
        || ip.is_link_local()
        || ip.is_multicast()
        || ip.is_broadcast()
        || ip.is_documentation()
        // "This network", shared address space (CGNAT), IETF protocol
        // assignments, benchmarking, reserved.
        || a == 0
        || (a == 100 && (64..128).contains(&b))
        || (a == 192 && b == 0 && ip.octets()[2] == 0)
        || (a == 198 && (b == 18 || b == 19))
        || a >= 240
}

fn internal_v6(ip: Ipv6Addr) -> bool {
    let first = ip.segments()[0];
    ip.is_unspecified()
        || ip.is_loopback()
        || ip.is_multicast()
        // Unique local fc00::/7, link-local fe80::/10, site-local fec0::/10.
        || (first & 0xfe00) == 0xfc00
        || (first & 0xffc0) == 0xfe80
        || (first & 0xffc0) == 0xfec0
        // Documentation 2001:db8::/32; IPv4-compatible ::/96 (deprecated).
        || (first == 0x2001 && ip.segments()[1] == 0x0db8)
        || (ip.segments()[..6].iter().all(|s| *s == 0))
        // An IPv4 address inside IPv6: NAT64 64:ff9b::/96, 6to4 2002::/16.
        || embedded_v4(ip).is_some_and(internal_v4)
}

/// The IPv4 address a NAT64 or 6to4 address leads to.
fn embedded_v4(ip: Ipv6Addr) -> Option<Ipv4Addr> {
    let s = ip.segments();
    let v4 = |hi: u16, lo: u16| Ipv4Addr::from((u32::from(hi) << 16) | u32::from(lo));
    if s[..6] == [0x64, 0xff9b, 0, 0, 0, 0] {
        Some(v4(s[6], s[7]))
    } else if s[0] == 0x2002 {
        Some(v4(s[1], s[2]))
    } else {
        None
    }
}

/// Why an endpoint is refused, in French, for the person.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refused(pub &'static str);

const NOT_A_PUSH_SERVICE: &str = "Adresse d'abonnement refusée : elle doit être l'adresse https:// d'un service de notifications (celle que donne le navigateur).";

impl Policy {
    /// The endpoint, parsed, if its form is acceptable (scheme, host, no
    /// credentials); literal internal addresses are refused here.
    pub fn parse(&self, endpoint: &str) -> Result<Url, Refused> {
        let url = Url::parse(endpoint).map_err(|_| Refused(NOT_A_PUSH_SERVICE))?;
        if !url.username().is_empty() || url.password().is_some() {
            return Err(Refused(NOT_A_PUSH_SERVICE));
        }
        let literal = match url.host() {
            Some(url::Host::Ipv4(v4)) => Some(IpAddr::V4(v4)),
            Some(url::Host::Ipv6(v6)) => Some(IpAddr::V6(v6)),
            Some(url::Host::Domain(_)) => None,
            None => return Err(Refused(NOT_A_PUSH_SERVICE)),
        };
        match url.scheme() {
            "https" => {}
            "http" if self.allow_local && literal.is_some_and(|ip| ip.is_loopback()) => {
                return Ok(url);
            }
            _ => return Err(Refused(NOT_A_PUSH_SERVICE)),
        }
        if let Some(ip) = literal
            && !self.permits(ip)
        {
            return Err(Refused(NOT_A_PUSH_SERVICE));
        }
        Ok(url)
    }

    fn permits(&self, ip: IpAddr) -> bool {
        !is_internal(ip) || (self.allow_local && ip.is_loopback())
    }

    /// The check when a browser subscribes: the form, then the addresses
    /// its host resolves to now (a host that does not resolve is accepted:
    /// it is checked again at each push).
    pub async fn check(&self, endpoint: &str) -> Result<Url, Refused> {
        let url = self.parse(endpoint)?;
        if let Some(url::Host::Domain(domain)) = url.host() {
            let port = url.port_or_known_default().unwrap_or(443);
            let lookup = tokio::net::lookup_host((domain.to_string(), port));
            if let Ok(Ok(addrs)) = tokio::time::timeout(RESOLVE_TIMEOUT, lookup).await {
                let addrs: Vec<SocketAddr> = addrs.collect();
                if addrs.iter().any(|a| !self.permits(a.ip())) {
                    return Err(Refused(NOT_A_PUSH_SERVICE));
                }
            }
        }
        Ok(url)
    }

    /// The HTTP client pushes go through: its resolver keeps only the
    /// addresses this policy permits; no redirect is followed; short
    /// timeouts.
    pub fn client(&self) -> reqwest::Result<reqwest::Client> {
        reqwest::Client::builder()
            .dns_resolver(Arc::new(Guarded(*self)))
            .redirect(reqwest::redirect::Policy::none())
            .connect_timeout(Duration::from_secs(5))
            .timeout(Duration::from_secs(10))
            .pool_max_idle_per_host(64)
            .build()
    }
}

/// A resolver that drops the addresses the policy does not permit, and
/// fails when none is left.
struct Guarded(Policy);

impl Resolve for Guarded {
    fn resolve(&self, name: Name) -> Resolving {
        let policy = self.0;
        Box::pin(async move {
            let found = tokio::net::lookup_host((name.as_str(), 0)).await?;
            let kept: Vec<SocketAddr> = found.filter(|a| policy.permits(a.ip())).collect();
            if kept.is_empty() {
                return Err(format!("{} resolves to no public address", name.as_str()).into());
            }
            let addrs: Addrs = Box::new(kept.into_iter());
            Ok(addrs)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const STRICT: Policy = Policy { allow_local: false };
    const LOCAL: Policy = Policy { allow_local: true };

    #[test]
    fn internal_addresses_in_every_spelling_are_refused() {
        for endpoint in [
            "http://push.example.net/x",
            "https://127.0.0.1/x",
            "https://127.1/x",
            "https://2130706433/x",
            "https://0x7f000001/x",
            "https://0177.0.0.1/x",
            "https://10.1.2.3/x",
            "https://172.16.0.1/x",
            "https://192.168.1.1/x",
            "https://169.254.169.254/latest/meta-data",
            "https://100.64.0.1/x",
            "https://0.0.0.0/x",
            "https://224.0.0.1/x",
            "https://255.255.255.255/x",
            "https://[::1]/x",
            "https://[::]/x",
            "https://[::ffff:127.0.0.1]/x",
            "https://[::ffff:a9fe:a9fe]/x",
            "https://[fd00::1]/x",
            "https://[fe80::1]/x",
            "https://[ff02::1]/x",
            "https://[64:ff9b::7f00:1]/x",
            "https://[2002:a9fe:a9fe::1]/x",
            "https://user:pass@push.example.net/x",
            "ftp://push.example.net/x",
            "not a url",
        ] {
            assert!(STRICT.parse(endpoint).is_err(), "{endpoint} was accepted");
        }
    }

    #[test]
    fn push_services_are_accepted() {
        for endpoint in [
            "https://fcm.googleapis.com/fcm/send/abc",
            "https://updates.push.services.mozilla.com/wpush/v2/abc",
            "https://web.push.apple.com/QF",
            "https://93.184.216.34/x",
            "https://[2a00:1450:4007:80e::200a]/x",
            "https://[64:ff9b::5db8:d822]/x",
        ] {
            assert!(STRICT.parse(endpoint).is_ok(), "{endpoint} was refused");
        }
    }

    #[test]
    fn the_development_switch_opens_only_loopback() {
        assert!(LOCAL.parse("http://127.0.0.1:4321/push/x").is_ok());
        assert!(LOCAL.parse("http://[::1]:4321/push/x").is_ok());
        assert!(LOCAL.parse("http://10.0.0.1/x").is_err());
        assert!(LOCAL.parse("http://169.254.169.254/x").is_err());
        assert!(LOCAL.parse("http://push.example.net/x").is_err());
        assert!(STRICT.parse("http://127.0.0.1:4321/push/x").is_err());
    }

    #[tokio::test]
    async fn a_name_that_resolves_inside_is_refused() {
        assert!(STRICT.check("https://localhost/push").await.is_err());
        assert!(LOCAL.check("http://localhost:4321/push").await.is_err());
    }
}
