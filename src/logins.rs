//! Credentials from a netrc file (`-n, --netrc`, `--netrc-file`): reading it once, with
//! rust-netrc, and choosing for each request the entry of the host it goes to, as curl's `-n`
//! does (how the login is sent is [`crate::auth`]'s).

use std::collections::HashMap;
use std::fmt;
use std::io::Read;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use url::Url;

use crate::auth::Login;

/// Largest netrc file read. Real ones are a few lines; this keeps a wrong path (a log, a
/// device) from being read whole.
const MAX_FILE: u64 = 1024 * 1024;

/// The entries of a netrc file, by host.
#[derive(Default)]
pub struct Logins {
    /// By host name, lowercase.
    hosts: HashMap<String, Login>,
    /// The `default` entry, for any host not named.
    default: Option<Login>,
}

/// Names the hosts only: a debug print of the settings must not show a password.
impl fmt::Debug for Logins {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Logins")
            .field("hosts", &self.hosts.keys().collect::<Vec<_>>())
            .field("default", &self.default.is_some())
            .finish()
    }
}

impl Logins {
    /// The file `--netrc` reads: `$NETRC` when set, else `~/.netrc` (as curl).
    pub fn default_path() -> Option<PathBuf> {
        match std::env::var_os("NETRC") {
            Some(path) if !path.is_empty() => Some(PathBuf::from(path)),
            _ => std::env::var_os("HOME").map(|home| Path::new(&home).join(".netrc")),
        }
    }

    /// Reads a netrc file. Unless `required`, a file that is not there gives no credentials
    /// (curl's `-n` with no `~/.netrc`); any other failure, and a file that does not parse, is
    /// an error naming the file (and the line).
    pub fn load(path: &Path, required: bool) -> Result<Self> {
        let file = match std::fs::File::open(path) {
            Err(e) if e.kind() == std::io::ErrorKind::NotFound && !required => {
                return Ok(Self::default());
            }
            opened => {
                opened.with_context(|| format!("cannot read netrc file {}", path.display()))?
            }
        };
        let mut text = String::new();
        let read = (file.take(MAX_FILE + 1).read_to_string(&mut text))
            .with_context(|| format!("cannot read netrc file {}", path.display()))?;
        if read as u64 > MAX_FILE {
            bail!(
                "netrc file {} is larger than {} KiB: not a netrc file",
                path.display(),
                MAX_FILE / 1024
            );
        }
        let parsed: netrc::Netrc = text
            .parse()
            .map_err(|e| anyhow::anyhow!("netrc file {}: {e}", path.display()))?;
        let mut logins = Self::default();
        for (host, entry) in parsed.hosts {
            let login = Login::new(entry.login, entry.password);
            // rust-netrc files the `default` entry under that name.
            if host == "default" {
                logins.default = Some(login);
            } else {
                logins.hosts.insert(bare_host(&host), login);
            }
        }
        Ok(logins)
    }

    /// The login for a request to `url`, from the entry of its host or else the default one:
    /// for a URL without credentials, or with a user name that is the entry's and no password
    /// (curl's rule). `None` when the file has nothing for it.
    pub fn login_for(&self, url: &Url) -> Option<&Login> {
        if url.password().is_some() {
            return None;
        }
        let host = bare_host(url.host_str()?);
        let entry = (self.hosts.get(&host)).or(self.default.as_ref())?;
        if entry.user.is_empty() && entry.password.is_empty() {
            return None;
        }
        let user = percent_encoding::percent_decode_str(url.username()).decode_utf8_lossy();
        if !user.is_empty() && user != entry.user {
            return None;
        }
        Some(entry)
    }
}

/// A host name as entries are looked up by: as a URL holds it (lowercase, an international
/// name in its ASCII form), and an IPv6 address without the brackets a URL puts around it (a
/// netrc file may give it either way).
fn bare_host(host: &str) -> String {
    let host = host
        .strip_prefix('[')
        .and_then(|h| h.strip_suffix(']'))
        .unwrap_or(host);
    crate::resolve::ascii_host(host)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn logins(text: &str) -> Logins {
        let file = tempfile::NamedTempFile::new().unwrap();
        std::fs::write(file.path(), text).unwrap();
        Logins::load(file.path(), true).unwrap()
    }

    fn pair(login: Option<&Login>) -> Option<String> {
        login.map(|l| format!("{}:{}", l.user, l.password))
    }

    #[test]
    fn a_host_gets_its_entry_or_the_default_one() {
        let logins = logins(
            "# team servers\nmachine files.example login alice password \"two words\"\n\
             machine [::1] login six password v6\n\
             macdef init\ncd /pub\n\n\
             default login anonymous password guest@\n",
        );
        let basic = |url: &str| pair(logins.login_for(&Url::parse(url).unwrap()));
        assert_eq!(
            basic("https://FILES.example:8443/a").as_deref(),
            Some("alice:two words")
        );
        assert_eq!(basic("http://[::1]/x").as_deref(), Some("six:v6"));
        assert_eq!(
            basic("http://other.example/").as_deref(),
            Some("anonymous:guest@")
        );
        // The URL's own user name picks the entry only if it is the entry's.
        assert_eq!(
            basic("http://alice@files.example/").as_deref(),
            Some("alice:two words")
        );
        assert_eq!(basic("http://bob@files.example/"), None);
        // A URL with a password of its own keeps it.
        assert_eq!(basic("http://bob:pw@files.example/"), None);
    }

    #[test]
    fn an_international_machine_name_matches_the_urls_ascii_form() {
        let logins = logins("machine Bücher.example login alice password a\n");
        for url in ["http://bücher.example/", "http://xn--bcher-kva.example/"] {
            let login = logins.login_for(&Url::parse(url).unwrap());
            assert_eq!(login.map(|l| l.user.as_str()), Some("alice"), "{url}");
        }
    }

    #[test]
    fn without_a_default_entry_other_hosts_get_nothing() {
        let logins = logins("machine files.example login alice password a\n");
        assert!(
            logins
                .login_for(&Url::parse("http://elsewhere.example/").unwrap())
                .is_none()
        );
        assert!(!format!("{logins:?}").contains("password"));
    }

    #[test]
    fn a_missing_file_is_nothing_unless_named_and_a_bad_one_says_where() {
        let dir = tempfile::tempdir().unwrap();
        let missing = dir.path().join("netrc");
        assert!(Logins::load(&missing, false).unwrap().hosts.is_empty());
        let err = Logins::load(&missing, true).unwrap_err();
        assert!(
            format!("{err:#}").contains("cannot read netrc file"),
            "{err:#}"
        );
        std::fs::write(&missing, "machine a.example login x\nbogus y\n").unwrap();
        let err = Logins::load(&missing, true).unwrap_err();
        assert!(format!("{err:#}").contains("line 2"), "{err:#}");
    }
}
