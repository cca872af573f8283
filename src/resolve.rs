//! Name resolution for the shared Agent: IP literals are used as they are and host names are
//! cached for a minute, as curl does.
//!
//! Why not ureq's default: with a whole-URL timeout set, ureq resolves every request on a newly
//! spawned thread (so the lookup can be abandoned), and it resolves before it looks in its
//! connection pool. For a list of small files on one host that thread costs more than the
//! request itself. Here only the first lookup of each name pays it.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
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
