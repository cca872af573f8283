//! Logins to the servers fetched from: which user name and password a request goes with
//! (`--user`'s, a netrc entry's, the URL's own), sent as Basic at once, as curl's `-u` sends
//! it, and as Digest (RFC 7616, answered with http-auth) once a server's challenge asks for it,
//! as wget answers one. Each origin's Digest challenge is kept, so its further requests answer
//! it at once instead of each being refused first. A proxy's login (its URL's, or
//! `--proxy-user`) goes the same way: Basic, then Digest once the proxy's 407 asks for it, as
//! curl's `--proxy-anyauth` answers one; its challenge is kept apart from every origin's.

use std::borrow::Cow;
use std::collections::HashMap;
use std::fmt;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use http_auth::{DigestClient, PasswordClient, PasswordParams};
use ureq::Proxy;
use ureq::http::{HeaderMap, HeaderValue};
use url::Url;

use crate::logins::Logins;

/// A user name and password.
#[derive(Clone, PartialEq, Eq)]
pub struct Login {
    pub user: String,
    pub password: String,
    /// `user:password` as a URL's percent-encoding gave it, when those bytes are not UTF-8:
    /// Basic sends them as they are, as curl does (the text above has them replaced).
    raw: Option<Vec<u8>>,
}

/// Names the user only: a debug print of the settings must not show a password.
impl fmt::Debug for Login {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Login").field("user", &self.user).finish()
    }
}

impl Login {
    pub fn new(user: String, password: String) -> Self {
        Self {
            user,
            password,
            raw: None,
        }
    }

    /// The `Authorization` value of Basic (RFC 7617).
    pub fn basic(&self) -> String {
        match &self.raw {
            Some(raw) => crate::fetch::basic(raw),
            None => crate::fetch::basic(format!("{}:{}", self.user, self.password).as_bytes()),
        }
    }

    /// The user name and password a URL carries, percent-decoded (RFC 3986 has them encoded
    /// in the URL; RFC 7617 and 7616 use them as they are). `None` for a URL without them.
    pub fn of_url(url: &Url) -> Option<Self> {
        if url.username().is_empty() && url.password().is_none() {
            return None;
        }
        let decode = |part: &str| percent_encoding::percent_decode_str(part).collect::<Vec<u8>>();
        let (user, password) = (decode(url.username()), decode(url.password().unwrap_or("")));
        let text = |bytes: &[u8]| String::from_utf8(bytes.to_vec()).ok();
        Some(match (text(&user), text(&password)) {
            (Some(user), Some(password)) => Self::new(user, password),
            _ => Self {
                user: String::from_utf8_lossy(&user).into_owned(),
                password: String::from_utf8_lossy(&password).into_owned(),
                raw: Some([&user[..], b":", &password[..]].concat()),
            },
        })
    }
}

/// The logins of a run, and the Digest challenges its servers have made.
#[derive(Debug, Default)]
pub struct Auth {
    /// `--user`'s: for the URL's own origin only, as a `-H Authorization` goes.
    user: Option<Login>,
    /// A netrc file's entries, by host.
    netrc: Option<Arc<Logins>>,
    /// The last Digest challenge of each origin (`scheme://host:port`), answered with a nonce
    /// count one higher each time.
    digests: Mutex<HashMap<String, DigestClient>>,
    /// Whether any origin has asked for Digest: until one has, no request takes the lock.
    any_digest: AtomicBool,
}

impl Auth {
    pub fn new(user: Option<Login>, netrc: Option<Arc<Logins>>) -> Self {
        Self {
            user,
            netrc,
            ..Self::default()
        }
    }

    /// Forgets the challenges servers made (`--compare`'s second run starts as its first did).
    pub fn forget_challenges(&self) {
        self.digests
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clear();
    }

    /// The login a request to `url` goes with: `--user`'s (on the line's own origin,
    /// `same_origin`), else the netrc entry for its host, else the URL's own.
    pub fn login_for(&self, url: &Url, same_origin: bool) -> Option<Cow<'_, Login>> {
        if let (Some(user), true) = (&self.user, same_origin) {
            return Some(Cow::Borrowed(user));
        }
        let netrc = self.netrc.as_ref().and_then(|n| n.login_for(url));
        netrc
            .map(Cow::Borrowed)
            .or_else(|| Login::of_url(url).map(Cow::Owned))
    }

    /// The `Authorization` value of a request with `login` (`method` and `uri` as its
    /// request line gives them): the answer to `fresh`, a challenge just made to this very
    /// request, when there is one; else to the Digest challenge its origin made last; else
    /// Basic.
    pub fn authorization(
        &self,
        url: &Url,
        login: &Login,
        request: (&str, &str),
        fresh: Option<&mut PasswordClient>,
    ) -> String {
        self.answer(&url.origin().ascii_serialization(), login, request, fresh)
    }

    /// The `Proxy-Authorization` value of a request to `proxy` (`method` and `uri` as its
    /// request line gives them: `CONNECT` and `host:port` for a tunnel), as
    /// [`Auth::authorization`] makes one for a server; `None` for a proxy without a login.
    pub fn proxy_authorization(
        &self,
        proxy: &Proxy,
        request: (&str, &str),
        fresh: Option<&mut PasswordClient>,
    ) -> Option<String> {
        let login = proxy_login(proxy)?;
        Some(self.answer(&proxy_key(proxy), &login, request, fresh))
    }

    /// The answer with `login` to `fresh`, else to the challenge kept under `key`, else Basic.
    fn answer(
        &self,
        key: &str,
        login: &Login,
        (method, uri): (&str, &str),
        fresh: Option<&mut PasswordClient>,
    ) -> String {
        let params = PasswordParams {
            username: &login.user,
            password: &login.password,
            uri,
            method,
            body: Some(&[]),
        };
        // http-auth fails only a challenge of qop=auth-int given no body, and these requests
        // give theirs (empty); were one to fail, Basic goes, and the server refuses it.
        if let Some(fresh) = fresh {
            return fresh.respond(&params).unwrap_or_else(|_| login.basic());
        }
        if self.any_digest.load(Ordering::Relaxed) {
            let mut digests = self.digests.lock().unwrap_or_else(|e| e.into_inner());
            if let Some(client) = digests.get_mut(key)
                && let Ok(answer) = client.respond(&params)
            {
                return answer;
            }
        }
        login.basic()
    }

    /// The challenge of a 401 to `url` worth sending the request again for: one asking for
    /// Digest, or for Basic where the origin's kept Digest challenge was answered (which is
    /// then dropped). `None` for a Basic challenge to a request that sent Basic (the login was
    /// refused) or none that http-auth knows.
    pub fn challenge(&self, url: &Url, headers: &HeaderMap) -> Option<PasswordClient> {
        let values = headers.get_all("www-authenticate").into_iter();
        self.challenge_under(&url.origin().ascii_serialization(), values)
    }

    /// The challenge of a proxy's 407 (its `Proxy-Authenticate` values) worth asking again
    /// for, as [`Auth::challenge`] takes a server's 401; `None` for a proxy without a login.
    pub fn proxy_challenge<'a>(
        &self,
        proxy: &Proxy,
        values: impl IntoIterator<Item = &'a HeaderValue>,
    ) -> Option<PasswordClient> {
        proxy_login(proxy)?;
        self.challenge_under(&proxy_key(proxy), values)
    }

    fn challenge_under<'a>(
        &self,
        key: &str,
        values: impl IntoIterator<Item = &'a HeaderValue>,
    ) -> Option<PasswordClient> {
        let mut builder = PasswordClient::builder();
        for value in values {
            // A challenge that is not ASCII is none that http-auth could parse.
            if let Ok(value) = value.to_str() {
                builder = builder.challenges(value);
            }
        }
        match builder.build().ok()? {
            digest @ PasswordClient::Digest(_) => Some(digest),
            basic => {
                let mut digests = self.digests.lock().unwrap_or_else(|e| e.into_inner());
                digests.remove(key).map(|_| basic)
            }
        }
    }

    /// Keeps a Digest challenge whose answer the server took as its origin's, for the
    /// origin's next requests to answer at once (each with the nonce count one higher).
    pub fn keep(&self, url: &Url, client: PasswordClient) {
        self.keep_under(url.origin().ascii_serialization(), client);
    }

    /// Keeps a Digest challenge whose answer `proxy` took, for its next requests and tunnels.
    pub fn keep_proxy(&self, proxy: &Proxy, client: PasswordClient) {
        self.keep_under(proxy_key(proxy), client);
    }

    fn keep_under(&self, key: String, client: PasswordClient) {
        if let PasswordClient::Digest(client) = client {
            let mut digests = self.digests.lock().unwrap_or_else(|e| e.into_inner());
            digests.insert(key, client);
            self.any_digest.store(true, Ordering::Relaxed);
        }
    }
}

/// Where a proxy's challenge is kept: apart from any origin's (`http://host:port`), the same
/// for every URL that goes through it.
fn proxy_key(proxy: &Proxy) -> String {
    format!(
        "proxy {} {}",
        proxy.protocol(),
        crate::proxy::address(proxy)
    )
}

/// The login a proxy's URL holds (`--proxy-user`'s is put there), if any.
fn proxy_login(proxy: &Proxy) -> Option<Login> {
    if proxy.username().is_none() && proxy.password().is_none() {
        return None;
    }
    let user = proxy.username().unwrap_or_default().to_string();
    Some(Login::new(
        user,
        proxy.password().unwrap_or_default().to_string(),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn url(text: &str) -> Url {
        Url::parse(text).unwrap()
    }

    fn challenge(value: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        for line in value.lines() {
            headers.append("www-authenticate", line.parse().unwrap());
        }
        headers
    }

    fn login(user: &str, password: &str) -> Login {
        Login::new(user.into(), password.into())
    }

    #[test]
    fn the_url_gives_its_login_decoded_and_user_gives_one_on_its_origin_only() {
        let auth = Auth::default();
        let own = auth.login_for(&url("http://a%40b:p%3As@h.example/"), true);
        assert_eq!(own.as_deref(), Some(&login("a@b", "p:s")));
        assert_eq!(auth.login_for(&url("http://h.example/"), true), None);
        // Bytes that are not UTF-8 (a Latin-1 password) go in Basic as they are.
        let latin = auth
            .login_for(&url("http://u:caf%E9@h.example/"), true)
            .unwrap();
        assert_eq!(latin.basic(), crate::fetch::basic(b"u:caf\xe9"));
        let auth = Auth::new(Some(login("u", "pw")), None);
        let given = auth.login_for(&url("http://x:y@h.example/"), true);
        assert_eq!(given.as_deref(), Some(&login("u", "pw")));
        // After a redirect to another origin, --user's login is not sent; the URL's own is.
        let other = auth.login_for(&url("http://x:y@other.example/"), false);
        assert_eq!(other.as_deref(), Some(&login("x", "y")));
        assert_eq!(auth.login_for(&url("http://other.example/"), false), None);
        assert!(!format!("{auth:?}").contains("pw"));
    }

    #[test]
    fn basic_until_a_digest_challenge_then_digest_with_a_growing_nonce_count() {
        let auth = Auth::default();
        let page = url("http://h.example/dir/file?x=1");
        let mufasa = login("Mufasa", "Circle of Life");
        let get = ("GET", "/dir/file?x=1");
        assert_eq!(
            auth.authorization(&page, &mufasa, get, None),
            "Basic TXVmYXNhOkNpcmNsZSBvZiBMaWZl"
        );
        // A Basic challenge to a request that sent Basic: the login is wrong, nothing to retry.
        assert!(
            auth.challenge(&page, &challenge("Basic realm=\"r\""))
                .is_none()
        );
        // Offered both (as two headers), Digest is taken: it does not send the password.
        let offered = "Basic realm=\"r\"\nDigest realm=\"testrealm@host.com\", qop=\"auth,auth-int\", \
                       nonce=\"dcd98b7102dd2f0e8b11d0f600bfb0c093\", \
                       opaque=\"5ccc069c403ebaf9f0171e9517f40e41\"";
        let mut fresh = auth.challenge(&page, &challenge(offered)).unwrap();
        let first = auth.authorization(&page, &mufasa, get, Some(&mut fresh));
        assert!(first.starts_with("Digest "), "{first}");
        for part in [
            "username=\"Mufasa\"",
            "realm=\"testrealm@host.com\"",
            "uri=\"/dir/file?x=1\"",
            "qop=auth",
            "nc=00000001",
            "opaque=\"5ccc069c403ebaf9f0171e9517f40e41\"",
        ] {
            assert!(first.contains(part), "{part} not in {first}");
        }
        assert!(!first.contains("Circle"), "{first}");
        // Not kept until the server has taken the answer.
        let other = url("http://h.example/other");
        assert!(
            auth.authorization(&other, &mufasa, ("HEAD", "/other"), None)
                .starts_with("Basic ")
        );
        auth.keep(&page, fresh);
        // The same origin's next request answers the kept challenge, counted on.
        let next = auth.authorization(&other, &mufasa, ("HEAD", "/other"), None);
        assert!(
            next.contains("nc=00000002") && next.contains("uri=\"/other\""),
            "{next}"
        );
        // Another origin has made no challenge: Basic there.
        let elsewhere = auth.authorization(&url("https://h.example/"), &mufasa, get, None);
        assert!(elsewhere.starts_with("Basic "), "{elsewhere}");
        // The origin now asks for Basic: the kept challenge goes, and the request is sent again.
        let basic = auth.challenge(&page, &challenge("Basic realm=\"r\""));
        assert!(matches!(basic, Some(PasswordClient::Basic(_))));
        assert!(
            auth.authorization(&page, &mufasa, get, None)
                .starts_with("Basic ")
        );
        // --compare's second run forgets what the first was asked.
        auth.keep(&page, auth.challenge(&page, &challenge(offered)).unwrap());
        auth.forget_challenges();
        assert!(
            auth.authorization(&page, &mufasa, get, None)
                .starts_with("Basic ")
        );
    }

    #[test]
    fn a_sha_256_challenge_is_answered_with_sha_256() {
        let auth = Auth::default();
        let page = url("http://h.example/");
        let asked = "Digest realm=\"r\", qop=\"auth\", algorithm=SHA-256, nonce=\"abc\"";
        let mut fresh = auth.challenge(&page, &challenge(asked)).unwrap();
        let answer = auth.authorization(&page, &login("u", "p"), ("GET", "/"), Some(&mut fresh));
        assert!(answer.contains("algorithm=SHA-256"), "{answer}");
        // A SHA-256 response is 64 hex digits.
        let response = answer.split("response=\"").nth(1).unwrap();
        assert_eq!(response.find('"'), Some(64), "{answer}");
    }

    #[test]
    fn a_challenge_without_a_scheme_known_retries_nothing() {
        let auth = Auth::default();
        let page = url("http://h.example/");
        assert!(auth.challenge(&page, &HeaderMap::new()).is_none());
        assert!(auth.challenge(&page, &challenge("Negotiate")).is_none());
        assert!((auth.challenge(&page, &challenge("Digest realm=\"no nonce\""))).is_none());
    }
}
