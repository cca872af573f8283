//! RSS and Atom feeds as lists (wget2's `--force-rss` and `--force-atom`): the files a feed
//! carries, its enclosures (a podcast's episodes), are the URLs.

use crate::links::{Entry, Seen, Target};
use crate::xml::{Element, Event, Events};

/// The enclosures of a feed (its root element read already), in order, a URL given twice (an
/// `<enclosure>` and a Media RSS `<media:content>` of the same file) once: RSS's `<enclosure
/// url>` and `<media:content url>`, RSS 1.0's `<enclosure rdf:resource>`, Atom's `<link
/// rel="enclosure" href>`.
pub fn entries(events: Events) -> impl Iterator<Item = Entry> + Send {
    let mut seen = Seen::default();
    crate::xml::Entries::new(events, move |events: &mut Events| {
        loop {
            let Some(event) = events.read()? else {
                return Ok(None);
            };
            let Event::Open(element) = event else {
                continue;
            };
            let Some(url) = enclosure(&element).map(str::trim) else {
                continue;
            };
            if !url.is_empty() && seen.first(url) {
                return Ok(Some(Entry {
                    line: element.line,
                    text: crate::links::shorten(url),
                    target: crate::links::parse_url(url).map(Target::from),
                }));
            }
        }
    })
}

/// The URL of a file `element` encloses, if it is an enclosure.
fn enclosure(element: &Element) -> Option<&str> {
    match element.name.as_str() {
        "enclosure" => (element.attribute("url")).or_else(|| element.attribute("resource")),
        "content" if element.namespace.as_deref() == Some(MEDIA_RSS) => element.attribute("url"),
        "link" if element.attribute("rel") == Some("enclosure") => element.attribute("href"),
        _ => None,
    }
}

/// Media RSS's namespace, whose `<media:content>` names a file.
const MEDIA_RSS: &str = "http://search.yahoo.com/mrss/";

#[cfg(test)]
mod tests {
    use crate::links::{Format, xml_entries};

    fn urls(doc: &str) -> Vec<(usize, String)> {
        let got = xml_entries(doc.as_bytes(), &Format::Feed).unwrap();
        let url = |e: &crate::links::Entry| {
            e.target
                .as_ref()
                .map_or(e.text.clone(), |t| t.url.to_string())
        };
        got.iter().map(|e| (e.line, url(e))).collect()
    }

    #[test]
    fn a_podcast_gives_its_episodes_once_each() {
        let rss = r#"<?xml version="1.0"?>
<rss version="2.0" xmlns:media="http://search.yahoo.com/mrss/">
<channel><title>A show</title><link>https://h.example/</link>
<item><title>One</title><link>https://h.example/one</link>
  <enclosure url="https://cdn.example/one.mp3?src=rss" length="1" type="audio/mpeg"/>
  <media:content url="https://cdn.example/one.mp3?src=rss" type="audio/mpeg"/>
</item>
<item><title>Two</title>
  <media:content url="https://cdn.example/two.mp4"/>
</item>
<item><enclosure url="ftp://old.example/x.mp3"/></item>
</channel></rss>"#;
        let got = urls(rss);
        assert_eq!(
            got[0],
            (5, "https://cdn.example/one.mp3?src=rss".to_string())
        );
        assert_eq!(got[1], (9, "https://cdn.example/two.mp4".to_string()));
        assert_eq!(got[2], (11, "ftp://old.example/x.mp3".to_string()));
        assert_eq!(got.len(), 3);
    }

    #[test]
    fn an_atom_feed_gives_its_enclosure_links() {
        let atom = r#"<feed xmlns="http://www.w3.org/2005/Atom">
<entry><link href="https://h.example/post"/>
<link rel="enclosure" type="audio/ogg" href="https://h.example/post.ogg"/></entry>
</feed>"#;
        assert_eq!(urls(atom), [(3, "https://h.example/post.ogg".to_string())]);
    }
}
