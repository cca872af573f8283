//! Link lists read as HTML (`-F, --force-html`, and a list on a server that says it is HTML,
//! as wget reads them): which attributes of which tags are links, the page's `<base href>`,
//! and the line each link was found on.

use std::collections::HashSet;
use std::io::Cursor;
use std::sync::Arc;

use html5gum::emitters::callback::{CallbackEmitter, CallbackEvent};
use html5gum::{IoReader, Span, Tokenizer};
use url::Url;

use crate::links::{Entry, LineCounter, Target};

/// The largest HTML list read: a page is tokenized whole, and a server must not be able to
/// make fetchpar hold an endless one.
pub const MAX_HTML: u64 = 64 * 1024 * 1024;

/// The attributes that are links, by tag: wget's table (`html-url.c`) with HTML5's media
/// tags. A page's links to what it shows (images, scripts, style sheets) are in it, as wget
/// takes them from an HTML list; `srcset`, `<meta http-equiv=refresh>` and forms are not.
const LINKS: &[(&str, &str)] = &[
    ("a", "href"),
    ("applet", "code"),
    ("area", "href"),
    ("audio", "src"),
    ("bgsound", "src"),
    ("body", "background"),
    ("embed", "href"),
    ("embed", "src"),
    ("fig", "src"),
    ("frame", "src"),
    ("iframe", "src"),
    ("img", "href"),
    ("img", "lowsrc"),
    ("img", "src"),
    ("input", "src"),
    ("layer", "src"),
    ("link", "href"),
    ("object", "data"),
    ("overlay", "src"),
    ("script", "src"),
    ("source", "src"),
    ("table", "background"),
    ("td", "background"),
    ("th", "background"),
    ("track", "src"),
    ("video", "poster"),
    ("video", "src"),
];

/// wget's `--accept` and `--reject`: which of a page's links are fetched, by file name.
#[derive(Debug, Clone, Default)]
pub struct Names {
    pub accept: Vec<NamePattern>,
    pub reject: Vec<NamePattern>,
}

/// One item of an `--accept` or `--reject` list: a suffix, or a shell pattern when it holds
/// `*`, `?` or `[`, as wget tells them apart.
#[derive(Debug, Clone)]
pub enum NamePattern {
    Suffix(String),
    Glob(glob::Pattern),
}

impl NamePattern {
    pub fn parse(text: &str) -> Result<Self, String> {
        if text.is_empty() {
            return Err("an empty name pattern".into());
        }
        if text.contains(['*', '?', '[', ']']) {
            let glob = glob::Pattern::new(text).map_err(|err| format!("`{text}`: {err}"))?;
            return Ok(Self::Glob(glob));
        }
        Ok(Self::Suffix(text.to_string()))
    }

    fn matches(&self, name: &str) -> bool {
        match self {
            Self::Suffix(suffix) => name.ends_with(suffix.as_str()),
            Self::Glob(glob) => glob.matches(name),
        }
    }
}

impl Names {
    /// Whether a link to `url` is fetched: its file name (the last part of its path, decoded;
    /// none for a folder) matches an `--accept` item, if any are given, and no `--reject` one.
    fn wanted(&self, url: &Url) -> bool {
        if self.accept.is_empty() && self.reject.is_empty() {
            return true;
        }
        let last = url
            .path_segments()
            .and_then(|mut s| s.next_back())
            .unwrap_or("");
        let name = percent_encoding::percent_decode_str(last).decode_utf8_lossy();
        (self.accept.is_empty() || self.accept.iter().any(|p| p.matches(&name)))
            && !self.reject.iter().any(|p| p.matches(&name))
    }
}

/// An attribute value the tokenizer found: a link, or the page's base.
struct Found {
    at: usize,
    value: String,
    base: bool,
}

/// The links of one page, found as they are asked for.
pub struct Links {
    tokens: Box<dyn Iterator<Item = Found> + Send>,
    page: Arc<[u8]>,
    lines: LineCounter,
    base: Option<Url>,
    /// Whether the page has set `base` with a `<base href>`: only its first one counts.
    based: bool,
    /// URLs handed out: a page that links a file twice (a thumbnail and a name) gives it once.
    seen: HashSet<String>,
    names: Names,
}

impl Links {
    /// The links of `page` that `names` lets through; relative ones are resolved against its
    /// `<base href>`, else `base`.
    pub fn new(page: Vec<u8>, base: Option<Url>, names: Names) -> Self {
        let page: Arc<[u8]> = page.into();
        let mut tag = String::new();
        let mut wanted = None;
        let mut emitter =
            CallbackEmitter::new(move |event: CallbackEvent<'_>, span: Span<usize>| {
                match event {
                    CallbackEvent::OpenStartTag { name } => {
                        tag = String::from_utf8_lossy(name).to_ascii_lowercase();
                        wanted = None;
                    }
                    CallbackEvent::AttributeName { name } => {
                        let name = String::from_utf8_lossy(name).to_ascii_lowercase();
                        let base = tag == "base" && name == "href";
                        let link = LINKS.contains(&(tag.as_str(), name.as_str()));
                        wanted = (base || link).then_some(base);
                    }
                    CallbackEvent::AttributeValue { value } => {
                        if let Some(base) = wanted.take() {
                            let value = String::from_utf8_lossy(value).into_owned();
                            return Some(Found {
                                at: span.start,
                                value,
                                base,
                            });
                        }
                    }
                    CallbackEvent::EndTag { .. } => {
                        tag.clear();
                        wanted = None;
                    }
                    _ => {}
                }
                None
            });
        // So that the text of a <script> or <style> is not read for tags.
        emitter.naively_switch_states(true);
        let reader = IoReader::new(Cursor::new(Arc::clone(&page)));
        let tokens = Tokenizer::new_with_emitter(reader, emitter).map_while(Result::ok);
        Self {
            tokens: Box::new(tokens),
            page,
            lines: LineCounter::default(),
            base,
            based: false,
            seen: HashSet::new(),
            names,
        }
    }

    /// What one link stands for: `None` for one to skip (another scheme, a place in the page,
    /// a name `--accept` or `--reject` leaves out, a URL given before).
    fn resolve(&mut self, value: &str) -> Option<Result<Url, String>> {
        // HTML takes a link without the spaces around it.
        let value = value.trim_matches(|c: char| c.is_ascii_whitespace());
        if value.is_empty() || value.starts_with('#') {
            return None;
        }
        let parsed = match &self.base {
            Some(base) => base.join(value),
            None => Url::parse(value),
        };
        let mut url = match parsed {
            Ok(url) => url,
            Err(url::ParseError::RelativeUrlWithoutBase) => {
                return Some(Err(
                    "a relative link, and no URL to resolve it against: give one with \
                     -B/--base URL (or the page a <base href>)"
                        .into(),
                ));
            }
            Err(err) => return Some(Err(format!("not a URL: {err}"))),
        };
        // mailto:, javascript:, data: and the like are no files to download.
        if !matches!(url.scheme(), "http" | "https") {
            return None;
        }
        if url.host_str().is_none_or(str::is_empty) {
            return Some(Err("URL has no host".into()));
        }
        url.set_fragment(None);
        if !self.names.wanted(&url) {
            return None;
        }
        self.seen.insert(url.to_string()).then_some(Ok(url))
    }
}

/// Each link is one job, in the order of the page; its text is the URL it stands for (what
/// `--failed-out` writes), or the link as written when it stands for none.
impl Iterator for Links {
    type Item = Entry;

    fn next(&mut self) -> Option<Entry> {
        loop {
            let found = self.tokens.next()?;
            let line = self.lines.line_of(&self.page, found.at);
            if found.base {
                if std::mem::replace(&mut self.based, true) {
                    continue;
                }
                // The page's first <base href>, resolved against the one given.
                let base = match &self.base {
                    Some(given) => given.join(found.value.trim()),
                    None => Url::parse(found.value.trim()),
                };
                if let Ok(base) = base
                    && matches!(base.scheme(), "http" | "https")
                {
                    self.base = Some(base);
                }
                continue;
            }
            let Some(url) = self.resolve(&found.value) else {
                continue;
            };
            let text = match &url {
                Ok(url) => url.to_string(),
                Err(_) => crate::links::shorten(found.value.trim()),
            };
            let target = url.map(Target::from);
            return Some(Entry { line, text, target });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn links(page: &str, base: Option<&str>) -> Vec<(usize, Result<String, String>)> {
        let base = base.map(|b| Url::parse(b).unwrap());
        Links::new(page.as_bytes().to_vec(), base, Names::default())
            .map(|link| (link.line, link.target.map(|t| t.url.to_string())))
            .collect()
    }

    #[test]
    fn finds_links_with_their_lines_and_resolves_them() {
        let page = "<!DOCTYPE html>\n<html><head><link rel=stylesheet href='s.css'>\n\
                    <script>var x = '<a href=\"no.js\">';</script></head>\n\
                    <body background=bg.png>\n<a href=\"files/a.iso\">a</a> <A HREF=\"../b.iso#top\">b</A>\n\
                    <img\n  src=\"/img/c.png\" alt=x>\n<a href=\"mailto:x@y.example\">m</a>\n\
                    <a href=\"#here\">h</a><a href=\"  https://other.example/d?x=1&amp;y=2 \">d</a>\n\
                    <a href=\"files/a.iso\">again</a><a name=anchor>n</a><p title=\"e.iso\">\n\
                    <video poster=p.jpg><source src=v.mp4></video>\n";
        let got = links(page, Some("http://h.example/dir/index.html"));
        let want = [
            (2, "http://h.example/dir/s.css"),
            (4, "http://h.example/dir/bg.png"),
            (5, "http://h.example/dir/files/a.iso"),
            (5, "http://h.example/b.iso"),
            (7, "http://h.example/img/c.png"),
            (9, "https://other.example/d?x=1&y=2"),
            (11, "http://h.example/dir/p.jpg"),
            (11, "http://h.example/dir/v.mp4"),
        ];
        let want: Vec<_> = want.iter().map(|&(l, u)| (l, Ok(u.to_string()))).collect();
        assert_eq!(got, want);
    }

    #[test]
    fn base_tag_wins_over_the_given_base() {
        let page = "<base href=\"/mirror/\">\n<a href=x.zip>x</a>";
        let got = links(page, Some("http://h.example/dir/list.html"));
        assert_eq!(got, [(2, Ok("http://h.example/mirror/x.zip".to_string()))]);
        // With no base given, an absolute <base href> is the base.
        let page = "<base href=\"https://m.example/pub/\"><base href=\"/no/\"><a href=x.zip>x</a>";
        let got = links(page, None);
        assert_eq!(got, [(1, Ok("https://m.example/pub/x.zip".to_string()))]);
    }

    #[test]
    fn relative_link_without_base_fails_that_link_only() {
        let page = "<a href=a.zip>a</a>\n<a href=\"http://h.example/b.zip\">b</a>";
        let got = links(page, None);
        assert_eq!(got.len(), 2);
        let (line, err) = &got[0];
        assert_eq!(*line, 1);
        assert!(err.as_ref().unwrap_err().contains("-B/--base"), "{err:?}");
        assert_eq!(got[1], (2, Ok("http://h.example/b.zip".to_string())));
    }

    #[test]
    fn accept_and_reject_choose_links_by_file_name_as_wget_does() {
        let page = "<a href=\"../\">up</a><a href=\"?C=N;O=D\">sort</a>\
                    <a href=\"debian-13.iso\">iso</a><a href=\"debian-13.iso.sig\">sig</a>\
                    <a href=\"notes%20on.txt\">txt</a><a href=\"debian-13-src.iso\">src</a>";
        let base = Url::parse("http://h.example/pub/").unwrap();
        let names = |accept: &[&str], reject: &[&str]| {
            let parse = |items: &[&str]| {
                (items.iter().map(|i| NamePattern::parse(i).unwrap())).collect::<Vec<_>>()
            };
            let names = Names {
                accept: parse(accept),
                reject: parse(reject),
            };
            Links::new(page.as_bytes().to_vec(), Some(base.clone()), names)
                .map(|link| link.text.rsplit('/').next().unwrap().to_string())
                .collect::<Vec<_>>()
        };
        assert_eq!(names(&["iso"], &[]), ["debian-13.iso", "debian-13-src.iso"]);
        assert_eq!(
            names(&["*.iso", "*on.txt"], &["*-src.*"]),
            ["debian-13.iso", "notes%20on.txt"]
        );
        // Without --accept, links to folders stay.
        assert_eq!(
            names(&[], &["sig", "*.iso"]),
            ["", "?C=N;O=D", "notes%20on.txt"]
        );
        assert!(NamePattern::parse("").is_err());
        assert!(NamePattern::parse("[a").is_err());
    }

    proptest::proptest! {
        /// A hostile or broken page never panics, every link is an http(s) URL or a failure,
        /// and line numbers stay within the page and never go back.
        #[test]
        fn any_page_gives_ordered_lines_and_only_web_urls(
            parts in proptest::collection::vec(
                proptest::prop_oneof![
                    proptest::collection::vec(proptest::prelude::any::<u8>(), 0..40),
                    proptest::strategy::Just(b"<a href=\"x/y?z=1\">".to_vec()),
                    proptest::strategy::Just(b"<img\nsrc='/p.png'>".to_vec()),
                    proptest::strategy::Just(b"<base href=\"https://b.example/d/\">".to_vec()),
                    proptest::strategy::Just(b"<script>'<a href=s>'</script>".to_vec()),
                    proptest::strategy::Just(b"<a href=\"mailto:m@h\"><a href=#t>".to_vec()),
                    proptest::strategy::Just(b"\n<!-- <a href=c> -->\n".to_vec()),
                    proptest::strategy::Just(b"<a href=\"http://[::1\">".to_vec()),
                ],
                0..30,
            ),
            with_base in proptest::prelude::any::<bool>(),
        ) {
            let page = parts.concat();
            let lines = 1 + page.iter().filter(|&&b| b == b'\n').count();
            let base = with_base.then(|| Url::parse("http://h.example/dir/").unwrap());
            let mut last = 1;
            for link in Links::new(page, base, Names::default()) {
                proptest::prop_assert!(link.line >= last && link.line <= lines);
                last = link.line;
                if let Ok(target) = &link.target {
                    proptest::prop_assert!(matches!(target.url.scheme(), "http" | "https"));
                    proptest::prop_assert_eq!(target.url.fragment(), None);
                    proptest::prop_assert_eq!(&link.text, target.url.as_str());
                }
            }
        }
    }

    #[test]
    fn not_html_gives_no_links() {
        assert!(links("http://h.example/a\nhttp://h.example/b\n", None).is_empty());
    }
}
