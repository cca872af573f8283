//! XML lists read as a stream of elements (sitemaps, feeds, Metalink files): `quick-xml`'s
//! events over the document's bytes, each element with its line, entities resolved. Nothing is
//! kept per element or per entry, so a hostile document costs its own (bounded) size: a tree of
//! it costed twenty times that (a 64 MiB sitemap of empty elements took 1.25 GB).

use std::io::Cursor;

use quick_xml::events::{BytesStart, Event as Raw};
use quick_xml::name::ResolveResult;
use quick_xml::{NsReader, XmlVersion};

use crate::links::{Entry, LineCounter};

/// Elements open at once, past which a document is refused: lists nest a few deep, and the
/// reader keeps each open element's name.
const MAX_DEPTH: usize = 64;

/// The attributes any list reads (a feed's `url`, `href`, `rel` and `resource`; a Metalink
/// file's `name`, `type`, `priority` and `preference`): the only ones kept, so that a tag of
/// millions of attributes costs no more than one of a few (a 64 MiB one took 722 MB).
const ATTRIBUTES: &[&str] = &[
    "url",
    "href",
    "rel",
    "resource",
    "name",
    "type",
    "priority",
    "preference",
];

/// One start tag.
#[derive(Debug)]
pub struct Element {
    /// 1-based line of its `<`.
    pub line: usize,
    /// Its name without a prefix (`content` for `<media:content>`).
    pub name: String,
    /// The namespace its prefix (or the default) stands for.
    pub namespace: Option<String>,
    /// Its attributes that lists read ([`ATTRIBUTES`]), by name without a prefix, values with
    /// entities resolved.
    pub attributes: Vec<(String, String)>,
    /// `<x/>`: no [`Event::Close`] follows.
    pub empty: bool,
}

impl Element {
    /// The value of its attribute of this name (without a prefix).
    pub fn attribute(&self, name: &str) -> Option<&str> {
        (self.attributes.iter())
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
}

/// Where and why a document is broken (or refused).
#[derive(Debug)]
pub struct Broken {
    pub line: usize,
    pub reason: String,
}

impl std::fmt::Display for Broken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "line {}: {}", self.line, self.reason)
    }
}

/// What a document holds, in order.
#[derive(Debug)]
pub enum Event {
    Open(Element),
    /// The end of the innermost open element.
    Close,
    /// Text (character data, CDATA, a resolved entity), perhaps one piece of several.
    Text(String),
}

/// The events of one document, after its root element.
pub struct Events {
    reader: NsReader<Cursor<Vec<u8>>>,
    buf: Vec<u8>,
    lines: LineCounter,
    /// Elements open, the root's first.
    open: Vec<String>,
    /// The root element has ended: only white space, comments and processing instructions may
    /// follow (a second root would read as more of the list).
    ended: bool,
}

impl Events {
    /// Reads `doc` up to its root element, which it returns. A document type declaration is
    /// refused: entities it declares could expand without bound, and lists have none.
    pub fn new(doc: Vec<u8>) -> Result<(Self, Element), Broken> {
        let mut reader = NsReader::from_reader(Cursor::new(doc));
        reader.config_mut().check_end_names = true;
        let mut events = Self {
            reader,
            buf: Vec::new(),
            lines: LineCounter::default(),
            open: Vec::new(),
            ended: false,
        };
        loop {
            match events.read()? {
                Some(Event::Open(root)) => return Ok((events, root)),
                Some(Event::Text(text)) if text.trim().is_empty() => {}
                Some(_) => return Err(events.broken("text before the root element")),
                None => return Err(events.broken("no root element")),
            }
        }
    }

    /// The next event, or `None` at the end of the document; an error says where and why the
    /// document is broken.
    pub fn read(&mut self) -> Result<Option<Event>, Broken> {
        loop {
            let at = self.reader.buffer_position();
            self.buf.clear();
            let doc = self.reader.get_ref().get_ref();
            let line = self
                .lines
                .line_of(doc, usize::try_from(at).unwrap_or(usize::MAX));
            let (namespace, raw) = match self.reader.read_resolved_event_into(&mut self.buf) {
                Ok((ResolveResult::Bound(ns), raw @ (Raw::Start(_) | Raw::Empty(_)))) => {
                    (Some(ns.into_inner().to_string()), raw)
                }
                Ok((_, raw)) => (None, raw),
                Err(err) => {
                    let at = self.reader.error_position();
                    let doc = self.reader.get_ref().get_ref();
                    let at = usize::try_from(at).unwrap_or(usize::MAX);
                    let line = LineCounter::default().line_of(doc, at);
                    let reason = err.to_string();
                    return Err(Broken { line, reason });
                }
            };
            let after_root = match &raw {
                Raw::Start(_) | Raw::Empty(_) | Raw::CData(_) | Raw::GeneralRef(_) => true,
                Raw::Text(text) => !text.xml10_content().trim().is_empty(),
                _ => false,
            };
            if self.ended && after_root {
                let reason = "more after the root element's end (one document has one root)";
                return Err(Broken {
                    line,
                    reason: reason.into(),
                });
            }
            let event = match raw {
                Raw::Start(tag) | Raw::Empty(tag) if self.open.len() >= MAX_DEPTH => {
                    let name = tag.name().into_inner();
                    let reason = format!("<{name}> is nested deeper than {MAX_DEPTH} elements");
                    return Err(Broken { line, reason });
                }
                Raw::Start(tag) => {
                    let element = element(&tag, line, namespace, false)?;
                    self.open.push(element.name.clone());
                    Event::Open(element)
                }
                Raw::Empty(tag) => {
                    self.ended = self.open.is_empty();
                    Event::Open(element(&tag, line, namespace, true)?)
                }
                Raw::End(_) => {
                    self.open.pop();
                    self.ended = self.open.is_empty();
                    Event::Close
                }
                Raw::Text(text) => Event::Text(text.xml10_content().into_owned()),
                Raw::CData(data) => Event::Text(data.xml10_content().into_owned()),
                Raw::GeneralRef(entity) => {
                    let text = match entity.resolve_char_ref() {
                        Ok(Some(c)) => c.to_string(),
                        Ok(None) => match quick_xml::escape::resolve_xml_entity(&entity) {
                            Some(text) => text.to_string(),
                            None => {
                                let reason = format!("unknown entity &{};", &*entity);
                                return Err(Broken { line, reason });
                            }
                        },
                        Err(err) => {
                            let reason = err.to_string();
                            return Err(Broken { line, reason });
                        }
                    };
                    Event::Text(text)
                }
                Raw::DocType(_) => {
                    let reason = "a document type declaration (refused: the entities it may \
                                  declare could expand without bound)";
                    return Err(Broken {
                        line,
                        reason: reason.into(),
                    });
                }
                Raw::Decl(_) | Raw::PI(_) | Raw::Comment(_) => continue,
                Raw::Eof => {
                    return match self.open.last() {
                        Some(name) => Err(Broken {
                            line,
                            reason: format!("it ends before </{name}>: cut off?"),
                        }),
                        None => Ok(None),
                    };
                }
            };
            return Ok(Some(event));
        }
    }

    /// The text of the element just opened, to its end (the elements inside it skipped).
    pub fn text(&mut self) -> Result<String, Broken> {
        let mut text = String::new();
        let mut depth = 0usize;
        loop {
            match self.read()? {
                Some(Event::Text(piece)) if depth == 0 => text.push_str(&piece),
                Some(Event::Open(inner)) if !inner.empty => depth += 1,
                Some(Event::Close) if depth == 0 => return Ok(text),
                Some(Event::Close) => depth -= 1,
                Some(_) => {}
                None => return Ok(text),
            }
        }
    }

    /// How many elements are open (1 inside the root).
    pub fn depth(&self) -> usize {
        self.open.len()
    }

    /// The innermost element open: the parent of what comes next.
    pub fn inside(&self) -> Option<&str> {
        self.open.last().map(String::as_str)
    }

    /// A failure at the line read last.
    fn broken(&self, reason: &str) -> Broken {
        let doc = self.reader.get_ref().get_ref();
        let at = usize::try_from(self.reader.buffer_position()).unwrap_or(usize::MAX);
        Broken {
            line: LineCounter::default().line_of(doc, at),
            reason: reason.into(),
        }
    }
}

/// The entries of a document, read one at a time by `read` (`None` at its end); a document
/// broken partway gives the entries before the break, then one that fails saying where.
pub struct Entries<F> {
    events: Option<Events>,
    read: F,
}

impl<F> Entries<F>
where
    F: FnMut(&mut Events) -> Result<Option<Entry>, Broken>,
{
    pub fn new(events: Events, read: F) -> Self {
        Self {
            events: Some(events),
            read,
        }
    }
}

impl<F> Iterator for Entries<F>
where
    F: FnMut(&mut Events) -> Result<Option<Entry>, Broken>,
{
    type Item = Entry;

    fn next(&mut self) -> Option<Entry> {
        let events = self.events.as_mut()?;
        let read = (self.read)(events);
        if !matches!(read, Ok(Some(_))) {
            self.events = None;
        }
        match read {
            Ok(entry) => entry,
            Err(Broken { line, reason }) => Some(Entry {
                line,
                text: String::new(),
                target: Err(format!(
                    "the list is broken here, and not read on: {reason}"
                )),
            }),
        }
    }
}

/// An element from its start tag.
fn element(
    tag: &BytesStart,
    line: usize,
    namespace: Option<String>,
    empty: bool,
) -> Result<Element, Broken> {
    let name = tag.local_name().into_inner().to_string();
    let mut attributes: Vec<(String, String)> = Vec::new();
    // Not checked for repeats (quick-xml would keep every name to check): the first of a name
    // is the one taken.
    let mut all = tag.attributes();
    all.with_checks(false);
    for attribute in all {
        let broken = |err: &dyn std::fmt::Display| Broken {
            line,
            reason: err.to_string(),
        };
        let attribute = attribute.map_err(|err| broken(&err))?;
        let key = attribute.key.local_name().into_inner();
        if !ATTRIBUTES.contains(&key) || attributes.iter().any(|(k, _)| k == key) {
            continue;
        }
        let value =
            (attribute.normalized_value(XmlVersion::Implicit1_0)).map_err(|err| broken(&err))?;
        attributes.push((key.to_string(), value.into_owned()));
    }
    Ok(Element {
        line,
        name,
        namespace,
        attributes,
        empty,
    })
}

#[cfg(test)]
mod tests {
    use crate::links::{Format, xml_entries};

    /// Each entry's line and URL, or its line and why it failed.
    fn read(doc: &str) -> Vec<(usize, Result<String, String>)> {
        let entries = xml_entries(doc.as_bytes(), &Format::Xml).unwrap();
        (entries.into_iter())
            .map(|e| (e.line, e.target.map(|t| t.url.to_string())))
            .collect()
    }

    #[test]
    fn a_document_broken_partway_gives_what_is_before_the_break_then_says_where() {
        let doc = "<urlset>\n<url><loc>http://h.example/a</loc></url>\n\
                   <url><loc>http://h.example/b</loc></url>\n\
                   <url><loc>http://h.example/c</lox></url>\n\
                   <url><loc>http://h.example/d</loc></url>\n</urlset>";
        let got = read(doc);
        assert_eq!(got.len(), 3, "{got:?}");
        assert_eq!(got[1], (3, Ok("http://h.example/b".into())));
        let (line, why) = &got[2];
        assert_eq!(*line, 4);
        let why = why.as_ref().unwrap_err();
        assert!(why.contains("broken here") && why.contains("lox"), "{why}");
        // Cut off: what arrived is read, and the end says the rest is missing.
        let got = read("<urlset>\n<url><loc>http://h.example/a</loc></url>\n<url><lo");
        assert_eq!(got[0], (2, Ok("http://h.example/a".into())));
        assert_eq!(got.len(), 2, "{got:?}");
        let cut = read("<urlset>\n<url><loc>http://h.example/a</loc></url>\n");
        assert!(
            cut[1]
                .1
                .as_ref()
                .unwrap_err()
                .contains("ends before </urlset>")
        );
    }

    #[test]
    fn entities_and_cdata_are_text_and_an_unknown_entity_or_deep_nesting_is_refused() {
        let doc = "<urlset><url><loc>http://h.example/&#x61;?x=1&amp;y=&quot;2&quot;</loc></url>\
                   <url><loc><![CDATA[http://h.example/c?p=1&q=2]]></loc></url>\
                   <url><loc>http://h.example/&nbsp;</loc></url></urlset>";
        let got = read(doc);
        assert_eq!(got[0].1, Ok("http://h.example/a?x=1&y=%222%22".into()));
        assert_eq!(got[1].1, Ok("http://h.example/c?p=1&q=2".into()));
        assert!(
            got[2]
                .1
                .as_ref()
                .unwrap_err()
                .contains("unknown entity &nbsp;")
        );
        let twice = "<urlset><url><loc>http://h.example/a</loc></url></urlset>\n\
                     <urlset><url><loc>http://h.example/b</loc></url></urlset>";
        let got = read(twice);
        assert_eq!(got.len(), 2, "{got:?}");
        assert!(
            got[1]
                .1
                .as_ref()
                .unwrap_err()
                .contains("more after the root")
        );
        let deep = format!("<urlset>{}", "<x>".repeat(100));
        let got = read(&deep);
        assert_eq!(got.len(), 1);
        assert!(
            got[0]
                .1
                .as_ref()
                .unwrap_err()
                .contains("nested deeper than 64")
        );
        // A DTD is refused before anything is read, and so is text before the root.
        for (doc, why) in [
            (
                "<!DOCTYPE u [<!ENTITY a 'b'>]><urlset/>",
                "document type declaration",
            ),
            (
                "http://h.example/a\n<urlset/>",
                "text before the root element",
            ),
            ("", "no root element"),
        ] {
            let err = xml_entries(doc.as_bytes(), &Format::Xml).err().unwrap();
            assert!(err.contains(why), "{err}");
        }
    }

    #[test]
    fn only_attributes_lists_read_are_kept_the_first_of_a_name() {
        let many: String = (0..1000).map(|i| format!(" a{i}=\"x\"")).collect();
        let doc = format!(
            "<rss><enclosure{many} url=\"http://h.example/1\" url=\"http://h.example/2\"/></rss>"
        );
        let (mut events, _) = super::Events::new(doc.into_bytes()).unwrap();
        let Some(super::Event::Open(enclosure)) = events.read().unwrap() else {
            panic!("no element");
        };
        assert_eq!(
            enclosure.attributes,
            [("url".to_string(), "http://h.example/1".to_string())]
        );
    }

    proptest::proptest! {
        /// Broken, hostile or cut-off documents never panic: each gives entries numbered within
        /// it, at most one of them saying the document broke, and that one last.
        #[test]
        fn any_document_gives_entries_within_it_and_a_break_only_last(
            parts in proptest::collection::vec(
                proptest::prop_oneof![
                    proptest::collection::vec(proptest::prelude::any::<u8>(), 0..20),
                    proptest::strategy::Just(b"<urlset>".to_vec()),
                    proptest::strategy::Just(b"<sitemapindex>".to_vec()),
                    proptest::strategy::Just(b"<url><loc>http://h.example/a&amp;b</loc></url>".to_vec()),
                    proptest::strategy::Just(b"<url>\n<loc><![CDATA[http://h.example/c]]></loc>".to_vec()),
                    proptest::strategy::Just(b"</url></urlset>".to_vec()),
                    proptest::strategy::Just(b"<rss><item><enclosure url='http://h.example/e'/>".to_vec()),
                    proptest::strategy::Just(b"<feed><link rel=\"enclosure\" href=\"&#x68;ttp://h.example/f\"/>".to_vec()),
                    proptest::strategy::Just(b"<!-- c -->\n<?pi x?>&bad;".to_vec()),
                ],
                0..24,
            ),
        ) {
            let doc = parts.concat();
            let lines = 1 + doc.iter().filter(|&&b| b == b'\n').count();
            if let Ok(entries) = xml_entries(&doc, &Format::Xml) {
                let breaks: Vec<usize> = (entries.iter().enumerate())
                    .filter(|(_, e)| e.target.as_ref().is_err_and(|f| f.contains("broken here")))
                    .map(|(i, _)| i)
                    .collect();
                proptest::prop_assert!(breaks.is_empty() || breaks == [entries.len() - 1]);
                for entry in entries {
                    proptest::prop_assert!(entry.line >= 1 && entry.line <= lines);
                    if let Ok(target) = entry.target {
                        proptest::prop_assert!(matches!(target.url.scheme(), "http" | "https"));
                    }
                }
            }
        }
    }
}
