//! Name resolution for the shared Agent: IP literals are used as they are and host names are
//! cached for a minute, as curl does.
//!
//! Why not ureq's default: with a whole-URL timeout set, ureq resolves every request on a newly
//! spawned thread (so the lookup can be abandoned), and it resolves before it looks in its
//! connection pool. For a list of small files on one host that thread costs more than the
//! request itself. Here only the first lookup of each name pays it.
//!
//! `localhost` and names under `.localhost` are the loopback addresses, 127.0.0.1 and ::1, as
//! RFC 6761 asks and as curl answers them, without a lookup: a `/etc/hosts` that lists only
//! 127.0.0.1 would otherwise leave a server listening on ::1 alone unreachable by that name.

use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use ureq::config::Config;
use ureq::http::Uri;
use ureq::unversioned::resolver::{DefaultResolver, ResolvedSocketAddrs, Resolver};
use ureq::unversioned::transport::NextTimeout;

/// How long a looked-up address is reused.
const TTL: Duration = Duration::from_secs(60);

/// A host name that did not resolve. Its own type so the fetcher can report kind `dns` rather
/// than a generic I/O error.
#[derive(Debug, thiserror::Error)]
#[error("cannot resolve {host}: {source}")]
pub struct LookupFailed {
    pub host: String,
    source: std::io::Error,
}

#[derive(Debug, Default)]
pub struct CachingResolver {
    inner: DefaultResolver,
    cache: Mutex<HashMap<String, (Instant, ResolvedSocketAddrs)>>,
}

impl Resolver for CachingResolver {
    fn resolve(
        &self,
        uri: &Uri,
        config: &Config,
        timeout: NextTimeout,
    ) -> Result<ResolvedSocketAddrs, ureq::Error> {
        let Some(authority) = uri.authority() else {
            return self.inner.resolve(uri, config, timeout);
        };
        let port = authority.port_u16().or_else(|| match uri.scheme_str() {
            Some("https") => Some(443),
            Some("http") => Some(80),
            _ => None,
        });
        let host = authority.host();
        let literal = host.trim_start_matches('[').trim_end_matches(']');
        if let (Ok(ip), Some(port)) = (literal.parse::<IpAddr>(), port) {
            let mut addrs = self.empty();
            addrs.push(SocketAddr::new(ip, port));
            return Ok(addrs);
        }
        if let (true, Some(port)) = (is_localhost(host), port) {
            let mut addrs = self.empty();
            addrs.push(SocketAddr::new(Ipv4Addr::LOCALHOST.into(), port));
            addrs.push(SocketAddr::new(Ipv6Addr::LOCALHOST.into(), port));
            return Ok(addrs);
        }
        let key = format!("{host}:{}", port.unwrap_or(0));
        let cached = self
            .cache
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(&key)
            .filter(|(at, _)| at.elapsed() < TTL)
            .map(|(_, addrs)| addrs.clone());
        if let Some(addrs) = cached {
            return Ok(addrs);
        }
        let addrs = self
            .inner
            .resolve(uri, config, timeout)
            .map_err(|err| match err {
                ureq::Error::Io(source) => ureq::Error::Other(Box::new(LookupFailed {
                    host: host.to_string(),
                    source,
                })),
                other => other,
            })?;
        self.cache
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(key, (Instant::now(), addrs.clone()));
        Ok(addrs)
    }
}

/// Whether a host name is `localhost` or under it (a trailing dot and any case allowed).
fn is_localhost(host: &str) -> bool {
    let name = host.strip_suffix('.').unwrap_or(host).to_ascii_lowercase();
    name == "localhost" || name.ends_with(".localhost")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn resolve(url: &str) -> Vec<SocketAddr> {
        let uri: Uri = url.parse().unwrap();
        let config = Config::default();
        let addrs = CachingResolver::default()
            .resolve(&uri, &config, NextTimeout::default())
            .unwrap();
        addrs.iter().copied().collect()
    }

    #[test]
    fn localhost_is_both_loopback_addresses_without_a_lookup() {
        let both = |port| {
            vec![
                SocketAddr::new(Ipv4Addr::LOCALHOST.into(), port),
                SocketAddr::new(Ipv6Addr::LOCALHOST.into(), port),
            ]
        };
        assert_eq!(resolve("http://localhost:8080/x"), both(8080));
        assert_eq!(resolve("https://API.LocalHost./"), both(443));
        assert_eq!(resolve("http://dev.localhost/"), both(80));
        assert!(!is_localhost("localhost.example.com"));
        assert!(!is_localhost("notlocalhost"));
        assert_eq!(
            resolve("http://[::1]:9/"),
            vec![SocketAddr::new(Ipv6Addr::LOCALHOST.into(), 9)]
        );
    }
}
