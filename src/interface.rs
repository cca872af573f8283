//! `--interface`: the local address every connection is made from, as curl's `--interface`,
//! wget's `--bind-address` and aria2c's `--interface` choose it: an address of this machine,
//! or a network interface by name, standing for its addresses.

use std::net::{IpAddr, SocketAddr, UdpSocket};

/// The addresses connections leave from, one for each family the interface has.
#[derive(Debug, Clone, PartialEq)]
pub struct Local {
    /// As given: an address or an interface's name.
    pub name: String,
    v4: Option<IpAddr>,
    v6: Option<IpAddr>,
}

impl Local {
    /// An IP address of this machine, or the name of one of its interfaces (its first IPv4
    /// address and its first IPv6 one that is not link-local, which would need a scope). An
    /// error says what is wrong.
    pub fn parse(text: &str) -> Result<Self, String> {
        let name = text.to_string();
        if let Ok(ip) = text
            .trim_start_matches('[')
            .trim_end_matches(']')
            .parse::<IpAddr>()
        {
            // Binding a throwaway socket tells whether the address is this machine's.
            UdpSocket::bind(SocketAddr::new(ip, 0))
                .map_err(|e| format!("{text} is not an address of this machine ({e})"))?;
            let (v4, v6) = match ip {
                IpAddr::V4(_) => (Some(ip), None),
                IpAddr::V6(_) => (None, Some(ip)),
            };
            return Ok(Self { name, v4, v6 });
        }
        let all = if_addrs::get_if_addrs()
            .map_err(|e| format!("cannot list this machine's interfaces: {e}"))?;
        let mine: Vec<IpAddr> = (all.into_iter())
            .filter(|i| i.name == text)
            .map(|i| i.ip())
            .collect();
        if mine.is_empty() {
            return Err(format!(
                "{text} is neither an IP address nor an interface with one on this machine"
            ));
        }
        let v4 = mine.iter().copied().find(IpAddr::is_ipv4);
        let v6 = (mine.iter().copied()).find(|ip| match ip {
            IpAddr::V6(v6) => !v6.is_unicast_link_local(),
            IpAddr::V4(_) => false,
        });
        if v4.is_none() && v6.is_none() {
            return Err(format!("{text} has only link-local addresses"));
        }
        Ok(Self { name, v4, v6 })
    }

    /// The local address to connect to `to` from, if the interface has one of its family.
    pub fn for_target(&self, to: &SocketAddr) -> Option<SocketAddr> {
        let ip = if to.is_ipv4() { self.v4 } else { self.v6 };
        ip.map(|ip| SocketAddr::new(ip, 0))
    }

    /// The failure of a host whose addresses are all of a family the interface lacks.
    pub fn no_family(&self, to: &SocketAddr) -> std::io::Error {
        let family = if to.is_ipv4() { "IPv4" } else { "IPv6" };
        let why = format!(
            "--interface {} has no {family} address to connect from",
            self.name
        );
        std::io::Error::new(std::io::ErrorKind::AddrNotAvailable, NoFamily(why))
    }
}

/// Why a host cannot be reached from the `--interface` at all: no retry is made for it.
#[derive(Debug)]
pub struct NoFamily(String);

impl std::fmt::Display for NoFamily {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for NoFamily {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_address_or_the_loopback_interface_by_name() {
        let at = Local::parse("127.0.0.1").unwrap();
        let v4: SocketAddr = "10.0.0.1:80".parse().unwrap();
        let v6: SocketAddr = "[2001:db8::1]:80".parse().unwrap();
        assert_eq!(at.for_target(&v4), Some("127.0.0.1:0".parse().unwrap()));
        assert_eq!(at.for_target(&v6), None);
        assert!(at.no_family(&v6).to_string().contains("no IPv6 address"));
        let lo = Local::parse("lo").unwrap();
        assert_eq!(lo.for_target(&v4), Some("127.0.0.1:0".parse().unwrap()));
        for bad in ["192.0.2.1", "no-such-interface0", ""] {
            assert!(Local::parse(bad).is_err(), "{bad}");
        }
    }
}
