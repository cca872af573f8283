//! `--connect-to HOST1:PORT1:HOST2:PORT2` (curl's): rules that send the connections for a
//! URL's host and port to another host and port, while the request stays the URL's: its
//! `Host` header, its cookies and logins, and the TLS name check (SNI and certificate) all
//! keep the URL's name. The resolver looks the new host up in place of the URL's (so
//! `--resolve` applies to it), and a CONNECT proxy is asked for a tunnel to it.

use ureq::http::Uri;

use crate::resolve::ascii_host;

/// The rules, in the order given: the first whose host and port match is used, as curl uses
/// them.
#[derive(Debug, Default)]
pub struct ConnectTo(Vec<Rule>);

/// One rule. `None` for a host or port to match is any; `None` for one to connect to is the
/// URL's own.
#[derive(Debug, PartialEq)]
struct Rule {
    host: Option<String>,
    port: Option<u16>,
    to_host: Option<String>,
    to_port: Option<u16>,
}

impl ConnectTo {
    /// Reads curl's `HOST1:PORT1:HOST2:PORT2` entries; an IPv6 address goes in brackets, and
    /// any of the four may be empty.
    pub fn parse(entries: &[String]) -> Result<Self, String> {
        let rules = entries.iter().map(|entry| {
            Rule::parse(entry).map_err(|why| {
                format!("--connect-to `{entry}`: {why} (expected HOST1:PORT1:HOST2:PORT2)")
            })
        });
        Ok(Self(rules.collect::<Result<_, _>>()?))
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Where the connections for `host` (as a URL holds it: ASCII, an IPv6 address in
    /// brackets or not) and `port` go, when a rule sends them elsewhere.
    pub fn target(&self, host: &str, port: u16) -> Option<(String, u16)> {
        let host = host.trim_start_matches('[').trim_end_matches(']');
        let rule = self.0.iter().find(|rule| {
            rule.host
                .as_deref()
                .is_none_or(|h| h.eq_ignore_ascii_case(host))
                && rule.port.is_none_or(|p| p == port)
        })?;
        let to_host = rule.to_host.as_deref().unwrap_or(host);
        let to_port = rule.to_port.unwrap_or(port);
        (rule.to_host.is_some() || rule.to_port.is_some()).then(|| (to_host.to_string(), to_port))
    }

    /// `uri` with the host and port its connections go to, when a rule sends them elsewhere;
    /// only its scheme, host and port matter to what looks it up.
    pub fn uri(&self, uri: &Uri) -> Option<Uri> {
        if self.is_empty() {
            return None;
        }
        let scheme = uri.scheme_str()?;
        let port = crate::resolve::port_of(uri)?;
        let (host, port) = self.target(uri.host()?, port)?;
        let authority = authority(&host, port);
        Uri::builder()
            .scheme(scheme)
            .authority(authority)
            .path_and_query("/")
            .build()
            .ok()
    }
}

/// `host:port`, with an IPv6 address in brackets.
pub fn authority(host: &str, port: u16) -> String {
    match host.contains(':') {
        true => format!("[{host}]:{port}"),
        false => format!("{host}:{port}"),
    }
}

impl Rule {
    fn parse(entry: &str) -> Result<Self, String> {
        let (host, rest) = host_part(entry)?;
        let (port, rest) = rest.split_once(':').ok_or("no `:` after the first port")?;
        let (to_host, rest) = host_part(rest)?;
        Ok(Rule {
            host,
            port: port_part(port)?,
            to_host,
            to_port: port_part(rest)?,
        })
    }
}

/// A host, possibly empty or an IPv6 address in brackets, and what follows its `:`.
fn host_part(text: &str) -> Result<(Option<String>, &str), String> {
    let (host, rest) = match text.strip_prefix('[') {
        Some(inner) => {
            let (host, rest) = (inner.split_once(']')).ok_or("a `[` with no `]`")?;
            if host.parse::<std::net::Ipv6Addr>().is_err() {
                return Err(format!("`[{host}]` is not an IPv6 address"));
            }
            let rest = rest.strip_prefix(':').ok_or("no `:` after the `]`")?;
            (host, rest)
        }
        None => text.split_once(':').ok_or("too few `:`")?,
    };
    if host.contains(['/', '@', ' ']) {
        return Err(format!("`{host}` is not a host name"));
    }
    Ok(((!host.is_empty()).then(|| ascii_host(host)), rest))
}

/// A port, or none for an empty one.
fn port_part(text: &str) -> Result<Option<u16>, String> {
    match text {
        "" => Ok(None),
        text => match text.parse::<u16>() {
            Ok(port) if port > 0 => Ok(Some(port)),
            _ => Err(format!("`{text}` is not a port")),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rules(entries: &[&str]) -> ConnectTo {
        let entries: Vec<String> = entries.iter().map(|e| e.to_string()).collect();
        ConnectTo::parse(&entries).unwrap()
    }

    #[test]
    fn the_first_rule_that_matches_host_and_port_is_used() {
        let to = rules(&[
            "Example.com:443:node2.example.com:8443",
            "example.com::127.0.0.1:",
            "::[::1]:9000",
        ]);
        let at = |host: &str, port| to.target(host, port);
        assert_eq!(
            at("example.com", 443),
            Some(("node2.example.com".into(), 8443))
        );
        // An empty port matches any, and an empty port to connect to keeps the URL's.
        assert_eq!(at("EXAMPLE.com", 80), Some(("127.0.0.1".into(), 80)));
        // An empty host matches any host.
        assert_eq!(at("other.test", 80), Some(("::1".into(), 9000)));
        let uri = to.uri(&"https://other.test/a?b".parse().unwrap()).unwrap();
        assert_eq!(uri.to_string(), "https://[::1]:9000/");
    }

    #[test]
    fn a_rule_that_keeps_host_and_port_shields_later_ones_and_none_leaves_the_url_alone() {
        let to = rules(&["a.test:80::", ":80:b.test:"]);
        assert_eq!(to.target("a.test", 80), None);
        assert_eq!(to.target("c.test", 80), Some(("b.test".into(), 80)));
        assert_eq!(to.target("c.test", 443), None);
        assert!(
            ConnectTo::default()
                .uri(&"http://a.test/".parse().unwrap())
                .is_none()
        );
    }

    #[test]
    fn ipv6_and_international_names_match_as_a_url_holds_them() {
        let to = rules(&[
            "[::1]:8080:localhost:80",
            "bücher.test:443:[2001:db8::1]:443",
        ]);
        assert_eq!(to.target("[::1]", 8080), Some(("localhost".into(), 80)));
        let idn = url::Url::parse("https://bücher.test/").unwrap();
        assert_eq!(
            to.target(idn.host_str().unwrap(), 443),
            Some(("2001:db8::1".into(), 443))
        );
    }

    #[test]
    fn malformed_rules_say_what_is_wrong() {
        for (entry, why) in [
            ("a.test:80:b.test", "too few"),
            ("a.test", "too few"),
            ("a.test:http:b.test:80", "`http` is not a port"),
            ("a.test:80:b.test:70000", "`70000` is not a port"),
            ("a.test:80:b.test:0", "`0` is not a port"),
            ("[::1:80:b.test:80", "no `]`"),
            ("[nope]:80:b.test:80", "not an IPv6 address"),
            ("a.test:80:user@b.test:80", "not a host name"),
        ] {
            let err = ConnectTo::parse(&[entry.to_string()]).unwrap_err();
            assert!(err.contains(why), "{entry}: {err}");
            assert!(err.starts_with(&format!("--connect-to `{entry}`")), "{err}");
        }
    }
}
