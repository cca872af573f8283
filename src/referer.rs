//! The Referer each request of a URL sends: `--referer` and a line's `referer=`, in the forms
//! curl's `-e` (`URL;auto`), wget's `--referer` and aria2c's `--referer` (`*`) take.

use ureq::http::HeaderValue;
use url::Url;

/// What a URL's requests say they were referred by.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Referer {
    /// What the first request sends.
    first: First,
    /// curl's `;auto`: each redirect's request names the URL that redirected it.
    auto: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum First {
    /// curl's `-e ';auto'`: the first request sends none.
    Nothing,
    /// This text, as given.
    Given(HeaderValue),
    /// aria2c's `*`: the URL being downloaded.
    Own,
}

impl Referer {
    /// Reads `URL`, `*`, and either with curl's `;auto` after it (or `;auto` alone).
    pub fn parse(text: &str) -> Result<Self, String> {
        let (given, auto) = match text.strip_suffix(";auto") {
            Some(given) => (given, true),
            None => (text, false),
        };
        let first = match given {
            "" if auto => First::Nothing,
            "" => return Err("an empty referer (give a URL, `*` or `;auto`)".into()),
            "*" => First::Own,
            // A URL, so that wget's habit `-e robots=off` (its -e runs a command) is not sent
            // to every server as a Referer.
            _ if Url::parse(given).is_err() => {
                return Err(format!(
                    "`{}` is not a URL (give a URL, `*` or `;auto`; wget's -e is not taken)",
                    crate::report::escape(given.as_bytes())
                ));
            }
            _ => First::Given(HeaderValue::try_from(given).map_err(|_| {
                "the referer is not a valid header value (no line breaks or control characters)"
                    .to_string()
            })?),
        };
        Ok(Self { first, auto })
    }

    /// The header for a request of the URL `start`, which is the redirect from `previous` when
    /// that is given (else the first request).
    pub fn for_request(&self, start: &Url, previous: Option<&Url>) -> Option<HeaderValue> {
        match (previous, &self.first) {
            (Some(previous), _) if self.auto => as_referer(previous),
            (_, First::Nothing) => None,
            (_, First::Given(value)) => Some(value.clone()),
            (_, First::Own) => as_referer(start),
        }
    }
}

/// A URL as a Referer: without its credentials and fragment, as curl and browsers send it
/// (a password in a list's URL must not go to another server in a header).
fn as_referer(url: &Url) -> Option<HeaderValue> {
    HeaderValue::try_from(bare(url).as_str()).ok()
}

/// A URL without its credentials and fragment: what may be shown or stored where the URL's
/// owner does not decide who reads it (a Referer, a saved file's `--xattr`).
pub fn bare(url: &Url) -> Url {
    let mut url = url.clone();
    let _ = url.set_username("");
    let _ = url.set_password(None);
    url.set_fragment(None);
    url
}

#[cfg(test)]
mod tests {
    use super::*;

    fn url(text: &str) -> Url {
        Url::parse(text).unwrap()
    }

    fn sent(referer: &str, start: &str, previous: Option<&str>) -> Option<String> {
        let previous = previous.map(url);
        let value = Referer::parse(referer)
            .unwrap()
            .for_request(&url(start), previous.as_ref());
        value.map(|v| v.to_str().unwrap().to_string())
    }

    #[test]
    fn a_given_referer_goes_with_every_request_of_the_url() {
        let given = Some("http://from.example/page".to_string());
        assert_eq!(sent("http://from.example/page", "http://a/x", None), given);
        assert_eq!(
            sent("http://from.example/page", "http://a/x", Some("http://a/y")),
            given
        );
    }

    #[test]
    fn a_star_names_the_url_itself_without_credentials_or_fragment() {
        let own = sent("*", "http://user:secret@a.example/x?q=1#top", None);
        assert_eq!(own.as_deref(), Some("http://a.example/x?q=1"));
    }

    #[test]
    fn auto_names_the_url_that_redirected() {
        assert_eq!(sent(";auto", "http://a/x", None), None);
        assert_eq!(
            sent(";auto", "http://a/x", Some("http://u:p@b/y#f")).as_deref(),
            Some("http://b/y")
        );
        assert_eq!(
            sent("http://r/;auto", "http://a/x", None).as_deref(),
            Some("http://r/")
        );
        assert_eq!(
            sent("*;auto", "http://a/x", Some("http://b/y")).as_deref(),
            Some("http://b/y")
        );
    }

    #[test]
    fn empty_and_broken_referers_are_refused() {
        assert!(Referer::parse("").is_err());
        assert!(Referer::parse("robots=off").is_err());
        assert!(Referer::parse("http://a/\nX-Evil: 1").is_err());
    }
}
