//! The URLs a style sheet names (`url(...)`, and the string of an `@import`), for the `style`
//! attributes and `<style>` elements of an HTML list, as wget takes them; tokenized with
//! cssparser, Servo's.

use cssparser::{ParseError, Parser, Token};

/// Blocks nested deeper than this are passed over unread (cssparser skips one without
/// recursing), so a hostile page's `((((...` cannot exhaust the stack; style sheets nest a few.
const MAX_DEPTH: usize = 32;

/// Whether `css` may name a URL at all: `url(` and `@import` are spelled with a `(` and an `@`
/// that no escape can stand for (an escaped one is a name's character, not a function's or an
/// at-rule's), so CSS without either names none. Most `style` attributes (`width: 10px`) are
/// passed over on this alone.
pub fn may_name_urls(css: &[u8]) -> bool {
    css.iter().any(|&byte| byte == b'(' || byte == b'@')
}

/// Hands each URL `css` names to `sink`, as written and with the byte of `css` it starts at,
/// in order, as it is found (so a style sheet of millions is never held as a list); stops when
/// `sink` says no more are wanted (`false`).
pub fn each_url(css: &str, mut sink: impl FnMut(usize, String) -> bool) {
    walk(&mut Parser::new(css), 0, &mut |at, url: String| {
        // `url()`, and `url(` at the end of the input, name nothing.
        url.trim().is_empty() || sink(at, url)
    });
}

/// Finds the URLs of `parser`'s input for `sink`; `false` when it wants no more.
fn walk(
    parser: &mut Parser<'_>,
    depth: usize,
    sink: &mut dyn FnMut(usize, String) -> bool,
) -> bool {
    // After `@import`, until something other than white space or a comment.
    let mut import = false;
    loop {
        let at = parser.position().byte_index();
        let Ok(token) = parser.next_including_whitespace_and_comments() else {
            return true;
        };
        let wanted = match token {
            Token::UnquotedUrl(url) => sink(at, url.to_string()),
            Token::QuotedString(url) if import => sink(at, url.to_string()),
            Token::AtKeyword(name) => {
                import = name.eq_ignore_ascii_case("import");
                continue;
            }
            Token::WhiteSpace(_) | Token::Comment(_) => continue,
            // `url("x")`, `url('x')`: a function whose argument is a string.
            Token::Function(name) if name.eq_ignore_ascii_case("url") => {
                let string = parser.parse_nested_block(|inside| {
                    let at = inside.position().byte_index();
                    let url = inside.expect_string().map(|url| (at, url.to_string()));
                    // The rest of the function is passed over, whatever it holds.
                    while inside.next_including_whitespace_and_comments().is_ok() {}
                    Ok::<_, ParseError<()>>(url.ok())
                });
                match string {
                    Ok(Some((at, url))) => sink(at, url),
                    _ => true,
                }
            }
            Token::Function(_)
            | Token::ParenthesisBlock
            | Token::SquareBracketBlock
            | Token::CurlyBracketBlock
                if depth < MAX_DEPTH =>
            {
                let inner = parser.parse_nested_block(|inside| {
                    Ok::<_, ParseError<()>>(walk(inside, depth + 1, sink))
                });
                inner.unwrap_or(true)
            }
            _ => true,
        };
        if !wanted {
            return false;
        }
        import = false;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The URLs of `css`, each with its line (from 0) counted by `\n` alone, as the page's
    /// lines are counted.
    fn found(css: &str) -> Vec<(usize, String)> {
        let mut lines = crate::links::LineCounter::default();
        let mut found = Vec::new();
        each_url(css, |at, url| {
            found.push((lines.line_of(css.as_bytes(), at) - 1, url));
            true
        });
        found
    }

    fn at(line: usize, url: &str) -> (usize, String) {
        (line, url.to_string())
    }

    #[test]
    fn urls_in_every_form_and_imports_with_their_lines() {
        let css = "@import \"base.css\";\n@import url(print.css) print;\n\
                   body { background: url( 'bg.png' ) no-repeat }\n\
                   /* url(commented.png) */ .a::after { content: \"url(not.png)\" }\n\
                   @font-face { src: url(\"f.woff2\") format(\"woff2\"), URL(f.woff) }\n\
                   @media (min-width: 1px) { .b { background-image: url(a\\).png) } }\n";
        assert_eq!(
            found(css),
            [
                at(0, "base.css"),
                at(1, "print.css"),
                at(2, "bg.png"),
                at(4, "f.woff2"),
                at(4, "f.woff"),
                at(5, "a).png"),
            ]
        );
    }

    #[test]
    fn lines_are_counted_by_newlines_alone_as_the_pages_are() {
        let css = "a { b: url(one.png) }\r\x0c c { d: url(two.png) }\r\n e { f: url(three.png) }";
        assert_eq!(
            found(css),
            [at(0, "one.png"), at(0, "two.png"), at(1, "three.png")]
        );
    }

    #[test]
    fn no_more_is_read_once_the_sink_wants_none() {
        let mut given = Vec::new();
        each_url("a{b:url(1)} c{d:url(2)} e{f:url(3)}", |_, url| {
            given.push(url);
            given.len() < 2
        });
        assert_eq!(given, ["1", "2"]);
    }

    #[test]
    fn css_without_a_parenthesis_or_an_at_sign_names_nothing() {
        for css in [
            "width: 10px",
            "color: red; content: \"url\\28 x.png\\29\"",
            "",
        ] {
            assert!(
                !may_name_urls(css.as_bytes()) && found(css).is_empty(),
                "{css}"
            );
        }
        // An escaped parenthesis is part of a name, not a function's: `url\(x)` is no URL.
        assert!(found("a { b: url\\(x.png) }").is_empty());
        assert!(may_name_urls(b"b: url(x)") && may_name_urls(b"@import 'x'"));
    }

    #[test]
    fn a_style_attribute_and_broken_css_give_what_they_hold() {
        assert_eq!(found("background:url(x.gif);color:red"), [at(0, "x.gif")]);
        // Cut off inside a block or a string: what came before is still found.
        assert_eq!(found("a { b: url(y.png); c: \"unclosed"), [at(0, "y.png")]);
        assert!(found("url(").is_empty() && found("a { b: url() }").is_empty());
        // A string not after @import is no link.
        assert!(found("a { content: \"z.png\" }").is_empty());
    }

    #[test]
    fn nesting_past_the_bound_is_passed_over_without_recursing() {
        let deep = format!(
            "{}url(deep.png){}",
            "(".repeat(1_000_000),
            ")".repeat(1_000_000)
        );
        assert!(found(&deep).is_empty());
        let nested = |depth: usize| {
            let (open, close) = ("(".repeat(depth), ")".repeat(depth));
            format!("{open}url(s.png){close} url(after.png)")
        };
        // As deep as is read, on half a worker's stack (lists are read on worker threads):
        // it fits, unoptimized builds included.
        let deepest = std::thread::Builder::new()
            .stack_size(crate::run::WORKER_STACK / 2)
            .spawn(move || found(&nested(MAX_DEPTH)))
            .unwrap()
            .join()
            .unwrap();
        assert_eq!(deepest, [at(0, "s.png"), at(0, "after.png")]);
        assert_eq!(found(&nested(MAX_DEPTH + 1)), [at(0, "after.png")]);
    }
}
