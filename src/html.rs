//! Link lists read as HTML (`-F, --force-html`, and a list on a server that says it is HTML,
//! as wget reads them): which attributes of which tags are links, the page's `<base href>`,
//! and the line each link was found on.

use std::borrow::Cow;
use std::collections::VecDeque;
use std::io::Cursor;
use std::sync::Arc;

use html5gum::emitters::callback::{CallbackEmitter, CallbackEvent};
use html5gum::{IoReader, Span, Tokenizer};
use url::Url;

use crate::css;
use crate::links::{Entry, LineCounter, Seen, Target};

/// The largest HTML list read: a page is tokenized whole, and a server must not be able to
/// make fetchpar hold an endless one.
pub const MAX_HTML: u64 = 64 * 1024 * 1024;

/// The attributes that are links, by tag: wget's table (`html-url.c`) with HTML5's media
/// tags. A page's links to what it shows (images, scripts, style sheets) are in it, as wget
/// takes them from an HTML list. Besides these, `srcset` (each of its images, see
/// [`srcset`]) and `<meta http-equiv=refresh content="N; url=...">` (see [`refresh`]) are
/// links, as wget takes them, and so are the URLs of `style` attributes and `<style>` elements
/// (`url(...)`, `@import`; see [`crate::css`]); forms are not.
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

/// wget's `--accept` and `--reject`: which of a page's links are fetched, by file name; and
/// its `--accept-regex` and `--reject-regex`, by the whole URL.
#[derive(Debug, Clone, Default)]
pub struct Names {
    pub accept: Vec<NamePattern>,
    pub reject: Vec<NamePattern>,
    pub accept_regex: Option<regex::Regex>,
    pub reject_regex: Option<regex::Regex>,
    /// wget's `--ignore-case`: names match their patterns in any case (the regexes are
    /// compiled so already).
    pub ignore_case: bool,
    /// `--https-only`: http links are left out, as wget's recursion leaves them.
    pub https_only: bool,
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

    fn matches(&self, name: &str, ignore_case: bool) -> bool {
        match (self, ignore_case) {
            (Self::Suffix(suffix), false) => name.ends_with(suffix.as_str()),
            (Self::Suffix(suffix), true) => name.to_lowercase().ends_with(&suffix.to_lowercase()),
            (Self::Glob(glob), _) => {
                let options = glob::MatchOptions {
                    case_sensitive: !ignore_case,
                    ..glob::MatchOptions::new()
                };
                glob.matches_with(name, options)
            }
        }
    }
}

/// A `--accept-regex` or `--reject-regex`, in any case with `--ignore-case`.
pub fn parse_regex(text: &str, ignore_case: bool) -> Result<regex::Regex, String> {
    regex::RegexBuilder::new(text)
        .case_insensitive(ignore_case)
        // A pattern is the user's own, but a bound keeps a typo's blow-up from taking the run's
        // memory.
        .size_limit(1 << 20)
        .build()
        .map_err(|err| format!("`{text}` is not a regular expression fetchpar reads: {err}"))
}

impl Names {
    /// Whether a link to `url` is fetched: its file name (the last part of its path, decoded;
    /// none for a folder) matches an `--accept` item, if any are given, and no `--reject` one.
    fn wanted(&self, url: &Url) -> bool {
        if self.https_only && url.scheme() != "https" {
            return false;
        }
        let whole = url.as_str();
        if self
            .accept_regex
            .as_ref()
            .is_some_and(|r| !r.is_match(whole))
            || self
                .reject_regex
                .as_ref()
                .is_some_and(|r| r.is_match(whole))
        {
            return false;
        }
        if self.accept.is_empty() && self.reject.is_empty() {
            return true;
        }
        let last = url
            .path_segments()
            .and_then(|mut s| s.next_back())
            .unwrap_or("");
        let name = percent_encoding::percent_decode_str(last).decode_utf8_lossy();
        let matches = |p: &NamePattern| p.matches(&name, self.ignore_case);
        (self.accept.is_empty() || self.accept.iter().any(matches))
            && !self.reject.iter().any(matches)
    }

    /// Whether any of them is given: they choose among the links of HTML lists.
    pub fn any(&self) -> bool {
        !self.accept.is_empty()
            || !self.reject.is_empty()
            || self.accept_regex.is_some()
            || self.reject_regex.is_some()
    }
}

/// Double-quoted attributes in a row in one tag past which a page is refused (see
/// [`Links::new`]); pages have tens.
pub const MAX_ATTRIBUTE_RUN: usize = 32 * 1024;

/// The stack of the thread that tokenizes a page, besides what its attributes in a row need.
const TOKENIZER_STACK: usize = 256 * 1024;

/// Stack for each double-quoted attribute in a row: 480 bytes measured in a release build,
/// given four times over; unoptimized builds' frames are some twenty times larger.
const STACK_PER_ATTRIBUTE: usize = if cfg!(debug_assertions) {
    32 * 1024
} else {
    2 * 1024
};

/// An upper bound on how many double-quoted attributes in a row (`a="1" b="2"`) one tag of
/// `page` holds: the longest chain of `="value" name` units joined by their `=` anywhere in
/// its bytes, whatever their context (so text that looks like attributes counts too, and the
/// bound is never short of what the tokenizer meets). One pass: for each step of a unit, the
/// longest chain that has reached it.
fn attribute_run(page: &[u8]) -> usize {
    // After `=` (white space may follow), inside the quotes, after the closing quote, after
    // white space, inside the next name.
    let (mut equals, mut value, mut closed, mut spaced, mut name) = (
        None::<usize>,
        None::<usize>,
        None::<usize>,
        None::<usize>,
        None::<usize>,
    );
    let mut most = 0;
    for &byte in page {
        // A carriage return is taken both ways, since the tokenizer may see either.
        let space = matches!(byte, b'\t' | b'\n' | b'\x0c' | b' ' | b'\r');
        let in_name = !matches!(byte, b'\t' | b'\n' | b'\x0c' | b' ' | b'/' | b'>' | b'=');
        let next_equals = match byte {
            b'=' => name.map(|n| n + 1).max(Some(0)),
            _ if space => equals,
            _ => None,
        };
        let next_value = match byte {
            b'"' => equals,
            // A character reference ends the nested calls.
            b'&' => None,
            _ => value,
        };
        let next_closed = if byte == b'"' { value } else { None };
        let next_spaced = if space { closed.max(spaced) } else { None };
        let next_name = if in_name { spaced.max(name) } else { None };
        most = most.max(next_equals.unwrap_or(0));
        (equals, value, closed, spaced, name) =
            (next_equals, next_value, next_closed, next_spaced, next_name);
    }
    most + 1
}

/// The tags whose `srcset` lists images (HTML's `<img>`, and `<source>` in a `<picture>`).
const SRCSET: &[&str] = &["img", "source"];

/// An attribute value (or a `<style>`'s text) the tokenizer found: a link, or the page's base.
struct Found {
    at: usize,
    value: String,
    kind: Kind,
}

/// What a found attribute value is.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    /// One URL.
    Link,
    /// A `<base href>`.
    Base,
    /// A `srcset`: several URLs, each with its width or density.
    Srcset,
    /// The `content` of a `<meta http-equiv=refresh>`: a delay, then perhaps a URL.
    Refresh,
    /// CSS (see [`crate::css`]): a `style` attribute, whose URLs are all taken to be where its
    /// value starts, or the text of a `<style>` element as the page has it, ending at
    /// `sheet_end`, each URL where it is. The thread that reads the page hands on its URLs, as
    /// `Link`s, through the bounded channel, so a style sheet's are never all held at once.
    Css { sheet_end: Option<usize> },
}

/// What the tokenizer is in the middle of: the start tag it reads, and for a `<meta>`,
/// whether it is a refresh and where its `content` was (its two attributes may come in
/// either order, so it is found when the tag closes).
#[derive(Default)]
struct Tag {
    name: String,
    /// What the value that comes next is, if it is wanted.
    next: Option<Next>,
    refresh: bool,
    content: Option<(usize, String)>,
}

/// A wanted attribute value the tokenizer is about to read.
#[derive(Clone, Copy)]
enum Next {
    Found(Kind),
    /// A `<meta http-equiv>`.
    Equiv,
    /// A `<meta content>`.
    Content,
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
    seen: Seen,
    names: Names,
    /// The rest of a `srcset`'s URLs, with the line it is on.
    queued: VecDeque<(usize, String)>,
}

impl Links {
    /// The links of `page` that `names` lets through; relative ones are resolved against its
    /// `<base href>`, else `base`.
    ///
    /// The page is tokenized on a thread of its own, whose stack is sized for it: html5gum
    /// 0.9's states for a double-quoted attribute call one another in a cycle, a nested call
    /// (480 bytes of stack) for each such attribute in a row in one tag, and a tag of a few
    /// thousand of them overflowed the stack of the thread that read it (and so ended the
    /// run). A page with more than [`MAX_ATTRIBUTE_RUN`] in a row is refused instead.
    pub fn new(page: Vec<u8>, base: Option<Url>, names: Names) -> Result<Self, String> {
        let run = attribute_run(&page);
        if run > MAX_ATTRIBUTE_RUN {
            return Err(format!(
                "the HTML list has a tag of more than {MAX_ATTRIBUTE_RUN} attributes in a row \
                 ({run}), past what its reader takes"
            ));
        }
        let page: Arc<[u8]> = page.into();
        let mut tag = Tag::default();
        // Inside a `<style>` element, whose text is a style sheet.
        let mut in_style = false;
        let mut emitter =
            CallbackEmitter::new(move |event: CallbackEvent<'_>, span: Span<usize>| {
                match event {
                    CallbackEvent::OpenStartTag { name } => {
                        tag = Tag {
                            name: String::from_utf8_lossy(name).to_ascii_lowercase(),
                            ..Tag::default()
                        };
                    }
                    CallbackEvent::AttributeName { name } => {
                        let name = String::from_utf8_lossy(name).to_ascii_lowercase();
                        tag.next = match (tag.name.as_str(), name.as_str()) {
                            ("base", "href") => Some(Next::Found(Kind::Base)),
                            (t, "srcset") if SRCSET.contains(&t) => Some(Next::Found(Kind::Srcset)),
                            (_, "style") => Some(Next::Found(Kind::Css { sheet_end: None })),
                            ("meta", "http-equiv") => Some(Next::Equiv),
                            ("meta", "content") => Some(Next::Content),
                            (t, n) => LINKS.contains(&(t, n)).then_some(Next::Found(Kind::Link)),
                        };
                    }
                    CallbackEvent::AttributeValue { value } => {
                        let next = tag.next.take()?;
                        if matches!(next, Next::Found(Kind::Css { .. }))
                            && !css::may_name_urls(value)
                        {
                            return None;
                        }
                        let value = String::from_utf8_lossy(value);
                        match next {
                            Next::Found(kind) => {
                                let (at, value) = (span.start, value.into_owned());
                                return Some(Found { at, value, kind });
                            }
                            Next::Equiv => {
                                tag.refresh = value.trim().eq_ignore_ascii_case("refresh");
                            }
                            Next::Content => tag.content = Some((span.start, value.into_owned())),
                        }
                    }
                    CallbackEvent::CloseStartTag { .. } => {
                        let content = tag.content.take().filter(|_| tag.refresh);
                        in_style = tag.name == "style";
                        tag = Tag::default();
                        if let Some((at, value)) = content {
                            let kind = Kind::Refresh;
                            return Some(Found { at, value, kind });
                        }
                    }
                    CallbackEvent::EndTag { .. } => {
                        tag = Tag::default();
                        in_style = false;
                    }
                    // The text of a `<style>` comes as one string (html5gum folds a run of
                    // text into one), read as text, not tags, to its end tag. It is taken as
                    // the page has it, so that its lines are the page's (html5gum's string has
                    // each lone carriage return made a line feed).
                    CallbackEvent::String { value } if in_style && css::may_name_urls(value) => {
                        let kind = Kind::Css {
                            sheet_end: Some(span.end),
                        };
                        // Read from the page by the thread that hands its URLs on.
                        let value = String::new();
                        return Some(Found {
                            at: span.start,
                            value,
                            kind,
                        });
                    }
                    _ => {}
                }
                None
            });
        // So that the text of a <script> or <style> is not read for tags.
        emitter.naively_switch_states(true);
        let reader = IoReader::new(Cursor::new(Arc::clone(&page)));
        // Links are found a few ahead of their use; the thread ends with the page, or when
        // the links are no longer wanted (the receiver dropped).
        let (found, tokens) = crossbeam_channel::bounded(256);
        let sheet_page = Arc::clone(&page);
        std::thread::Builder::new()
            .name("fetchpar-html".into())
            .stack_size(TOKENIZER_STACK + run * STACK_PER_ATTRIBUTE)
            .spawn(move || {
                let tokens = Tokenizer::new_with_emitter(reader, emitter).map_while(Result::ok);
                for token in tokens {
                    let Found { at, kind, .. } = token;
                    let wanted = match kind {
                        Kind::Css { sheet_end } => {
                            // A `<style>`'s text as the page has it (not copied, when it is
                            // UTF-8), so that its offsets are the page's.
                            let sheet = sheet_end.and_then(|end| sheet_page.get(at..end));
                            let css = match sheet {
                                Some(text) => String::from_utf8_lossy(text),
                                None => Cow::Borrowed(token.value.as_str()),
                            };
                            let mut wanted = true;
                            css::each_url(&css, |offset, value| {
                                // Where the page has the URL (a string made from text that
                                // is not UTF-8 can be longer than the text: kept inside it).
                                let at = sheet_end.map_or(at, |end| (at + offset).min(end));
                                let kind = Kind::Link;
                                wanted = found.send(Found { at, value, kind }).is_ok();
                                wanted
                            });
                            wanted
                        }
                        _ => found.send(token).is_ok(),
                    };
                    if !wanted {
                        break;
                    }
                }
            })
            .map_err(|err| format!("cannot start reading the HTML list: {err}"))?;
        Ok(Self {
            tokens: Box::new(tokens.into_iter()),
            page,
            lines: LineCounter::default(),
            base,
            based: false,
            seen: Seen::default(),
            names,
            queued: VecDeque::new(),
        })
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
        self.seen.first(url.as_str()).then_some(Ok(url))
    }
}

/// Each link is one job, in the order of the page; its text is the URL it stands for (what
/// `--failed-out` writes), or the link as written when it stands for none.
impl Iterator for Links {
    type Item = Entry;

    fn next(&mut self) -> Option<Entry> {
        loop {
            let (line, value) = match self.queued.pop_front() {
                Some(queued) => queued,
                None => {
                    let found = self.tokens.next()?;
                    let line = self.lines.line_of(&self.page, found.at);
                    match found.kind {
                        Kind::Link => (line, found.value),
                        Kind::Base => {
                            self.set_base(&found.value);
                            continue;
                        }
                        Kind::Srcset => {
                            let urls = srcset(&found.value).map(|url| (line, url.to_string()));
                            self.queued.extend(urls);
                            continue;
                        }
                        Kind::Refresh => match refresh(&found.value) {
                            Some(url) => (line, url.to_string()),
                            None => continue,
                        },
                        // Handed on as links by the thread that reads the page.
                        Kind::Css { .. } => continue,
                    }
                }
            };
            let Some(url) = self.resolve(&value) else {
                continue;
            };
            let text = match &url {
                Ok(url) => url.to_string(),
                Err(_) => crate::links::shorten(value.trim()),
            };
            let target = url.map(Target::from);
            return Some(Entry { line, text, target });
        }
    }
}

impl Links {
    /// Takes the page's first `<base href>`, resolved against the base given.
    fn set_base(&mut self, value: &str) {
        if std::mem::replace(&mut self.based, true) {
            return;
        }
        let base = match &self.base {
            Some(given) => given.join(value.trim()),
            None => Url::parse(value.trim()),
        };
        if let Ok(base) = base
            && matches!(base.scheme(), "http" | "https")
        {
            self.base = Some(base);
        }
    }
}

/// The URLs of a `srcset` (`a.jpg 1x, a-2x.jpg 2x` or `s.jpg 480w, l.jpg 1080w`), as HTML
/// parses one: candidates apart by commas, each a URL up to white space (a URL may hold
/// commas, but not end with one), then its descriptors up to a comma outside parentheses.
fn srcset(value: &str) -> impl Iterator<Item = &str> {
    let mut rest = value;
    std::iter::from_fn(move || {
        rest = rest.trim_start_matches(|c: char| c == ',' || c.is_ascii_whitespace());
        if rest.is_empty() {
            return None;
        }
        let end = rest
            .find(|c: char| c.is_ascii_whitespace())
            .unwrap_or(rest.len());
        let (url, after) = rest.split_at(end);
        let url = url.trim_end_matches(',');
        rest = if url.len() < end {
            // `a.jpg,b.jpg`: the commas end this candidate, which has no descriptors.
            after
        } else {
            let mut depth = 0usize;
            let stop = after.find(|c| {
                match c {
                    '(' => depth += 1,
                    ')' => depth = depth.saturating_sub(1),
                    ',' => return depth == 0,
                    _ => {}
                }
                false
            });
            stop.map_or("", |at| &after[at..])
        };
        Some(url)
    })
    .filter(|url| !url.is_empty())
}

/// The URL of a `<meta http-equiv=refresh>`'s content (`5; url=next.html`, `0;URL='a b'`), as
/// HTML reads one; none when it only reloads the page (`30`).
fn refresh(content: &str) -> Option<&str> {
    let rest = content.trim_start_matches(|c: char| c.is_ascii_whitespace());
    let rest = rest.trim_start_matches(|c: char| c.is_ascii_digit() || c == '.');
    let rest = rest.trim_start_matches(|c: char| c.is_ascii_whitespace());
    let rest = rest.strip_prefix([';', ',']).unwrap_or(rest);
    let rest = rest.trim_start_matches(|c: char| c.is_ascii_whitespace());
    let rest = match rest.get(..3) {
        Some(word) if word.eq_ignore_ascii_case("url") => {
            let after = rest[3..].trim_start_matches(|c: char| c.is_ascii_whitespace());
            match after.strip_prefix('=') {
                Some(after) => after.trim_start_matches(|c: char| c.is_ascii_whitespace()),
                // `url` that is the start of the URL itself (`urls.html`).
                None => rest,
            }
        }
        _ => rest,
    };
    let url = match rest.chars().next() {
        Some(quote @ ('"' | '\'')) => {
            let inner = &rest[1..];
            inner.find(quote).map_or(inner, |end| &inner[..end])
        }
        _ => rest,
    };
    let url = url.trim();
    (!url.is_empty()).then_some(url)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn links(page: &str, base: Option<&str>) -> Vec<(usize, Result<String, String>)> {
        let base = base.map(|b| Url::parse(b).unwrap());
        Links::new(page.as_bytes().to_vec(), base, Names::default())
            .unwrap()
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
    fn srcset_images_and_a_meta_refresh_are_links_as_wget_takes_them() {
        let page = "<meta charset=utf-8><meta http-equiv=\"Content-Type\" content=\"text/html\">\n\
                    <META CONTENT=\"0; URL='moved/here.html'\" HTTP-EQUIV=refresh>\n\
                    <picture><source srcset=\"w.webp 1x, w@2x.webp 2x\" type=image/webp>\n\
                    <img src=a.jpg srcset=\"a,1.jpg 480w, a.jpg 800w, b.jpg (max-width: 1px, x) 1080w\"></picture>\n\
                    <meta http-equiv=refresh content=30><a srcset=no.jpg href=x>x</a>";
        let got = links(page, Some("http://h.example/d/"));
        let want = [
            (2, "http://h.example/d/moved/here.html"),
            (3, "http://h.example/d/w.webp"),
            (3, "http://h.example/d/w@2x.webp"),
            (4, "http://h.example/d/a.jpg"),
            (4, "http://h.example/d/a,1.jpg"),
            (4, "http://h.example/d/b.jpg"),
            (5, "http://h.example/d/x"),
        ];
        let want: Vec<_> = want.iter().map(|&(l, u)| (l, Ok(u.to_string()))).collect();
        assert_eq!(got, want);
    }

    #[test]
    fn style_attributes_and_style_elements_give_their_urls_as_wget_takes_them() {
        let page = "<html><head><style>\n@import \"base.css\";\nbody { background: url(bg.png) }\n\
                    /* <a href=no.html> */ .x { background: url('img/x.png') }\n</style>\n\
                    <div style=\"background-image: url(&quot;d.gif&quot;)\">\n\
                    <p style=\"color: red\"><a href=bg.png>again</a><a href=after.html>a</a>\n\
                    <style></style><p>text with url(no.png) in it</p>";
        let got = links(page, Some("http://h.example/d/"));
        let want = [
            (2, "http://h.example/d/base.css"),
            (3, "http://h.example/d/bg.png"),
            (4, "http://h.example/d/img/x.png"),
            (6, "http://h.example/d/d.gif"),
            (7, "http://h.example/d/after.html"),
        ];
        let want: Vec<_> = want.iter().map(|&(l, u)| (l, Ok(u.to_string()))).collect();
        assert_eq!(got, want);
        // Lines are the page's: a lone carriage return starts none (html5gum's text of the
        // element has it as a line feed), and an attribute's URLs are all on its first line.
        let page = "<style>\r.a{b:url(x.png)}\n.c{d:url(y.png)}</style>\n\
                    <p style=\"a:url(p.png);&#10;b:url(q.png)\">";
        let got = links(page, Some("http://h.example/"));
        let lines: Vec<usize> = got.iter().map(|(line, _)| *line).collect();
        assert_eq!(lines, [1, 2, 3, 3], "{got:?}");
    }

    #[test]
    fn srcset_and_refresh_are_parsed_as_html_parses_them() {
        let set = |v| srcset(v).collect::<Vec<_>>();
        assert_eq!(set(" a.jpg , b.jpg 2x,c.jpg"), ["a.jpg", "b.jpg", "c.jpg"]);
        assert_eq!(set("a.jpg,,b.jpg"), ["a.jpg,,b.jpg"]);
        assert_eq!(set("a.jpg,, b.jpg"), ["a.jpg", "b.jpg"]);
        assert_eq!(set("x.jpg 1x (a, b), y.jpg"), ["x.jpg", "y.jpg"]);
        assert_eq!(set(" , ,"), Vec::<&str>::new());
        assert_eq!(refresh("5; url=next.html"), Some("next.html"));
        assert_eq!(refresh("0;URL = \"a b.html\" trailing"), Some("a b.html"));
        assert_eq!(
            refresh("1.5, https://h.example/"),
            Some("https://h.example/")
        );
        assert_eq!(refresh("3;urls.html"), Some("urls.html"));
        assert_eq!(refresh("0; url='unclosed"), Some("unclosed"));
        assert_eq!(refresh("30"), None);
        assert_eq!(refresh("0; url="), None);
    }

    #[test]
    fn attributes_in_a_row_are_counted_from_above_and_a_page_of_too_many_refused() {
        assert_eq!(attribute_run(b"<a x=\"1\" y=\"2\" z=\"3\">"), 3);
        // A character reference, an unquoted or single-quoted value, or white space before
        // `=` ends the tokenizer's nested calls, and so a run.
        assert_eq!(attribute_run(b"<a x=\"&amp;\" y=\"2\" z=\"3\">"), 2);
        assert_eq!(attribute_run(b"<a x=1 y='2' z =\"3\" w=\"4\">"), 2);
        assert_eq!(attribute_run(b"<p>no attributes</p>"), 1);
        // Text that looks like attributes counts: the bound is never short.
        assert_eq!(attribute_run(b"say =\"a\" b=\"c\" d"), 2);
        // Thousands in a row read (they overflowed the reading thread's stack), and past the
        // bound the page is refused.
        let tag = |n: usize| {
            let run: String = (0..n).map(|i| format!(" a{i}=\"\"")).collect();
            format!("<a{run} href=\"http://h.example/x\">").into_bytes()
        };
        let links: Vec<_> = Links::new(tag(5_000), None, Names::default())
            .unwrap()
            .collect();
        assert_eq!(links.len(), 1);
        assert_eq!(links[0].text, "http://h.example/x");
        let Err(why) = Links::new(tag(MAX_ATTRIBUTE_RUN + 1), None, Names::default()) else {
            panic!("a page past the bound was read");
        };
        assert!(why.contains("attributes in a row"), "{why}");
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
                ..Names::default()
            };
            Links::new(page.as_bytes().to_vec(), Some(base.clone()), names)
                .unwrap()
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
        // The regexes match the whole URL; --ignore-case makes every pattern case-blind.
        let chosen = |names: Names| {
            let page = "<a href=\"A.ISO\">1</a><a href=\"b.iso\">2</a><a href=\"c.Txt\">3</a>\
                        <a href=\"/other/d.iso\">4</a>";
            Links::new(page.as_bytes().to_vec(), Some(base.clone()), names)
                .unwrap()
                .map(|link| link.text)
                .collect::<Vec<_>>()
        };
        let pub_iso = |case: bool| Names {
            accept_regex: Some(parse_regex(r"^http://h\.example/pub/.*\.iso$", case).unwrap()),
            ignore_case: case,
            ..Names::default()
        };
        assert_eq!(chosen(pub_iso(false)), ["http://h.example/pub/b.iso"]);
        assert_eq!(
            chosen(pub_iso(true)),
            ["http://h.example/pub/A.ISO", "http://h.example/pub/b.iso"]
        );
        let reject = |case: bool| Names {
            accept: vec![
                NamePattern::parse("txt").unwrap(),
                NamePattern::parse("*.iso").unwrap(),
            ],
            reject_regex: Some(parse_regex("/other/", case).unwrap()),
            ignore_case: case,
            ..Names::default()
        };
        assert_eq!(chosen(reject(false)), ["http://h.example/pub/b.iso"]);
        assert_eq!(
            chosen(reject(true)),
            [
                "http://h.example/pub/A.ISO",
                "http://h.example/pub/b.iso",
                "http://h.example/pub/c.Txt"
            ]
        );
        let err = parse_regex("(a", false).unwrap_err();
        assert!(err.starts_with("`(a` is not a regular expression"), "{err}");
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
                    proptest::strategy::Just(b"<img srcset=\"a.png 1x,b.png (,) 2x\">".to_vec()),
                    proptest::strategy::Just(b"<meta content='0;url=m' http-equiv=refresh>".to_vec()),
                    proptest::strategy::Just(b"<style>\n@import 'i.css';\ra{b:url(u.png)}\n</style>".to_vec()),
                    proptest::strategy::Just(b"<p style=\"background:url(s.gif)\">".to_vec()),
                    proptest::strategy::Just(b"<style>".to_vec()),
                ],
                0..30,
            ),
            with_base in proptest::prelude::any::<bool>(),
        ) {
            let page = parts.concat();
            let lines = 1 + page.iter().filter(|&&b| b == b'\n').count();
            let base = with_base.then(|| Url::parse("http://h.example/dir/").unwrap());
            let mut last = 1;
            for link in Links::new(page, base, Names::default()).unwrap() {
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
