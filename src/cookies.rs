//! Cookies within one run: what a server sets with `Set-Cookie` goes back to it on later
//! requests, the redirects of the same URL and other URLs of the list alike, as wget and aria2c
//! keep them (curl only with `-b`). Nothing is read from or written to disk, and
//! `--no-cookies` turns the jar off. Matching (domain, path, `Secure`, expiry) is
//! `cookie_store`'s; what this module adds is what a hostile server must not get past:
//! public suffixes (`Domain=com`) and bounds on how much a run keeps.

use std::collections::HashMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};

use cookie_store::{Cookie, CookieDomain, CookieStore, RawCookie, StoreAction};
use ureq::http::HeaderMap;
use url::{Host, Url};

/// Largest name and value of one cookie together, in bytes; a larger one is ignored. Browsers
/// keep 4,096 (RFC 6265 asks for at least that).
pub const MAX_COOKIE: usize = 4096;

/// Most cookies kept for one site (a registrable domain, such as `example.co.uk`, or an IP
/// address), as Chrome keeps 180: a server setting more cannot crowd out the others' in the
/// run's total.
pub const MAX_PER_SITE: usize = 180;

/// Most cookies kept in a run, as Firefox keeps 3,000: with [`MAX_COOKIE`] this bounds the
/// jar to about 12 MiB, however many URLs of however many hosts set them.
pub const MAX_TOTAL: usize = 3000;

/// The run's cookie jar, shared by every worker.
#[derive(Debug)]
pub struct Jar {
    enabled: bool,
    /// Set once a cookie is kept: until then a request takes no lock to look for one.
    any: AtomicBool,
    inner: Mutex<Inner>,
}

#[derive(Debug, Default)]
struct Inner {
    store: CookieStore,
    /// Cookies kept per site (see [`MAX_PER_SITE`]); an update of one kept is not counted.
    per_site: HashMap<String, usize>,
    total: usize,
}

impl Jar {
    /// A jar; a disabled one keeps nothing and sends nothing (`--no-cookies`).
    pub fn new(enabled: bool) -> Self {
        Self {
            enabled,
            any: AtomicBool::new(false),
            inner: Mutex::new(Inner::default()),
        }
    }

    /// The `Cookie` header value for a request to `url`, if any kept cookie goes there.
    pub fn header_for(&self, url: &Url) -> Option<String> {
        if !self.any.load(Ordering::Acquire) {
            return None;
        }
        let inner = self.lock();
        let pairs: Vec<String> = (inner.store.get_request_values(url))
            .map(|(name, value)| format!("{name}={value}"))
            .collect();
        (!pairs.is_empty()).then(|| pairs.join("; "))
    }

    /// Keeps the cookies set by the answer to a request for `url`.
    pub fn keep(&self, url: &Url, headers: &HeaderMap) {
        if !self.enabled {
            return;
        }
        let mut values = headers.get_all("set-cookie").iter().peekable();
        if values.peek().is_none() {
            return;
        }
        let mut inner = self.lock();
        for value in values {
            // A value that is not UTF-8 is no cookie a browser would keep either.
            if let Ok(text) = value.to_str() {
                inner.keep(text, url);
            }
        }
        if inner.total > 0 {
            self.any.store(true, Ordering::Release);
        }
    }

    /// Forgets every cookie: `--compare`'s threaded run starts as its sequential run did.
    pub fn clear(&self) {
        let mut inner = self.lock();
        *inner = Inner::default();
        self.any.store(false, Ordering::Release);
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        // A panic while the jar was held (a worker's, caught as its URL's failure) leaves a
        // jar that is still whole: every change to it is one call into the store.
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl Inner {
    fn keep(&mut self, text: &str, url: &Url) {
        let Ok(raw) = RawCookie::parse(text) else {
            return;
        };
        if raw.name().len() + raw.value().len() > MAX_COOKIE {
            return;
        }
        let Ok(mut cookie) = Cookie::try_from_raw_cookie(&raw, url) else {
            return;
        };
        // RFC 6265 5.3 step 5: a Domain that is a public suffix is only the host's own
        // (`Domain=example.com` sent by example.com, kept for that host alone); from any
        // other host such a cookie is ignored, or every site under `.com` would be sent it.
        if let CookieDomain::Suffix(domain) = &cookie.domain
            && psl::suffix_str(domain) == Some(domain.as_str())
        {
            if url.host_str() != Some(domain.as_str()) {
                return;
            }
            match CookieDomain::host_only(url) {
                Ok(own) => cookie.domain = own,
                Err(_) => return,
            }
        }
        let site = site_of(url);
        let domain = String::from(&cookie.domain);
        let path = String::from(&cookie.path);
        let known = self.store.contains_any(&domain, &path, cookie.name());
        let count = self.per_site.get(&site).copied().unwrap_or(0);
        if !known && (count >= MAX_PER_SITE || self.total >= MAX_TOTAL) {
            return;
        }
        if let Ok(StoreAction::Inserted) = self.store.insert(cookie.into_owned(), url) {
            *self.per_site.entry(site).or_insert(0) += 1;
            self.total += 1;
        }
    }
}

/// The site a cookie from `url` is counted against: its registrable domain, or the host
/// itself for an IP address or a name the public suffix list does not place.
fn site_of(url: &Url) -> String {
    match url.host() {
        Some(Host::Domain(name)) => psl::domain_str(name).unwrap_or(name).to_ascii_lowercase(),
        Some(host) => host.to_string(),
        None => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ureq::http::HeaderValue;

    fn url(text: &str) -> Url {
        Url::parse(text).unwrap()
    }

    fn set(jar: &Jar, from: &str, cookies: &[&str]) {
        let mut headers = HeaderMap::new();
        for cookie in cookies {
            headers.append("set-cookie", HeaderValue::from_str(cookie).unwrap());
        }
        jar.keep(&url(from), &headers);
    }

    fn sent(jar: &Jar, to: &str) -> Option<String> {
        jar.header_for(&url(to))
    }

    #[test]
    fn a_cookie_goes_back_to_its_host_and_path_only() {
        let jar = Jar::new(true);
        set(
            &jar,
            "http://example.com/login",
            &["session=abc", "cart=1; Path=/shop"],
        );
        assert_eq!(
            sent(&jar, "http://example.com/file").as_deref(),
            Some("session=abc")
        );
        let shop = sent(&jar, "http://example.com/shop/item").unwrap();
        let mut pairs: Vec<&str> = shop.split("; ").collect();
        pairs.sort_unstable();
        assert_eq!(pairs, ["cart=1", "session=abc"]);
        assert_eq!(sent(&jar, "http://other.example/file"), None);
        // Host-only: a cookie without Domain does not go to the host's subdomains.
        assert_eq!(sent(&jar, "http://www.example.com/file"), None);
    }

    #[test]
    fn a_domain_cookie_goes_to_the_subdomains() {
        let jar = Jar::new(true);
        set(
            &jar,
            "http://login.example.co.uk/",
            &["id=7; Domain=example.co.uk"],
        );
        assert_eq!(
            sent(&jar, "http://files.example.co.uk/x").as_deref(),
            Some("id=7")
        );
        assert_eq!(
            sent(&jar, "http://example.co.uk/x").as_deref(),
            Some("id=7")
        );
        assert_eq!(sent(&jar, "http://other.co.uk/x"), None);
    }

    #[test]
    fn a_public_suffix_domain_is_refused_from_another_host() {
        let jar = Jar::new(true);
        set(&jar, "http://evil.example.co.uk/", &["a=1; Domain=co.uk"]);
        set(
            &jar,
            "http://evil.com/",
            &["b=2; Domain=com", "c=3; Domain=.COM"],
        );
        set(&jar, "http://x.github.io/", &["d=4; Domain=github.io"]);
        for to in [
            "http://bank.co.uk/",
            "http://bank.com/",
            "http://y.github.io/",
        ] {
            assert_eq!(sent(&jar, to), None, "{to}");
        }
        assert_eq!(sent(&jar, "http://evil.com/"), None);
    }

    #[test]
    fn a_public_suffix_that_is_the_host_itself_becomes_host_only() {
        let jar = Jar::new(true);
        set(&jar, "http://github.io/", &["e=5; Domain=github.io"]);
        assert_eq!(sent(&jar, "http://github.io/x").as_deref(), Some("e=5"));
        assert_eq!(sent(&jar, "http://y.github.io/"), None);
    }

    #[test]
    fn a_secure_cookie_goes_over_https_only() {
        let jar = Jar::new(true);
        set(&jar, "https://example.com/", &["s=1; Secure", "p=2"]);
        assert_eq!(sent(&jar, "http://example.com/").as_deref(), Some("p=2"));
        let both = sent(&jar, "https://example.com/").unwrap();
        assert!(both.contains("s=1") && both.contains("p=2"), "{both}");
    }

    #[test]
    fn an_expired_cookie_removes_the_one_kept() {
        let jar = Jar::new(true);
        set(&jar, "http://example.com/", &["t=1"]);
        set(&jar, "http://example.com/", &["t=1; Max-Age=0"]);
        assert_eq!(sent(&jar, "http://example.com/"), None);
        set(
            &jar,
            "http://example.com/",
            &["u=1; Expires=Thu, 01 Jan 1970 00:00:00 GMT"],
        );
        assert_eq!(sent(&jar, "http://example.com/"), None);
    }

    #[test]
    fn an_oversized_or_malformed_cookie_is_ignored() {
        let jar = Jar::new(true);
        let big = format!("big={}", "x".repeat(MAX_COOKIE));
        let fits = format!("fits={}", "y".repeat(MAX_COOKIE - 4));
        set(
            &jar,
            "http://example.com/",
            &[&big, "no equals sign", "=", &fits],
        );
        assert_eq!(sent(&jar, "http://example.com/"), Some(fits));
    }

    #[test]
    fn a_site_keeps_at_most_its_share_and_updates_still_work() {
        let jar = Jar::new(true);
        let many: Vec<String> = (0..MAX_PER_SITE + 20).map(|i| format!("c{i}=v")).collect();
        let many: Vec<&str> = many.iter().map(String::as_str).collect();
        // Spread over subdomains: the share is the site's, not each host's.
        set(&jar, "http://a.example.com/", &many[..100]);
        set(&jar, "http://b.example.com/", &many[100..]);
        let kept = |to: &str| sent(&jar, to).map_or(0, |h| h.split("; ").count());
        assert_eq!(
            kept("http://a.example.com/") + kept("http://b.example.com/"),
            MAX_PER_SITE
        );
        set(&jar, "http://a.example.com/", &["c0=updated"]);
        assert!(
            sent(&jar, "http://a.example.com/")
                .unwrap()
                .contains("c0=updated")
        );
        // Another site still gets its own.
        set(&jar, "http://example.org/", &["o=1"]);
        assert_eq!(sent(&jar, "http://example.org/").as_deref(), Some("o=1"));
    }

    #[test]
    fn the_run_keeps_at_most_the_total() {
        let jar = Jar::new(true);
        for site in 0..MAX_TOTAL / 100 + 1 {
            let names: Vec<String> = (0..100).map(|i| format!("n{i}=v")).collect();
            let names: Vec<&str> = names.iter().map(String::as_str).collect();
            set(&jar, &format!("http://site{site}.example/"), &names);
        }
        assert_eq!(jar.lock().total, MAX_TOTAL);
        assert_eq!(
            sent(&jar, &format!("http://site{}.example/", MAX_TOTAL / 100)),
            None
        );
    }

    #[test]
    fn an_ip_host_gets_its_own_cookies_and_a_domain_attribute_must_be_it() {
        let jar = Jar::new(true);
        set(
            &jar,
            "http://127.0.0.1:8080/",
            &["ip=1", "other=2; Domain=0.0.1"],
        );
        assert_eq!(
            sent(&jar, "http://127.0.0.1:9090/x").as_deref(),
            Some("ip=1")
        );
        assert_eq!(sent(&jar, "http://localhost:8080/"), None);
    }

    #[test]
    fn a_disabled_jar_keeps_nothing_and_clear_forgets() {
        let off = Jar::new(false);
        set(&off, "http://example.com/", &["a=1"]);
        assert_eq!(sent(&off, "http://example.com/"), None);
        let on = Jar::new(true);
        set(&on, "http://example.com/", &["a=1"]);
        on.clear();
        assert_eq!(sent(&on, "http://example.com/"), None);
        set(&on, "http://example.com/", &["b=2"]);
        assert_eq!(sent(&on, "http://example.com/").as_deref(), Some("b=2"));
    }
}
