//! The host's log: one line per event, whatever text the event carries. Operation names,
//! namespaces, YAML and plugin messages reach the log; a newline in one of them must not start
//! a line that looks like the host's own.

use std::io::{self, Write};

use tracing_subscriber::fmt::MakeWriter;

/// A caller's id as a log field: as it is when it is a plain token (a UUID, as Meshery sends),
/// quoted and escaped otherwise, so it cannot pose as other fields of a text line.
pub fn id_field(id: &str) -> std::borrow::Cow<'_, str> {
    if !id.is_empty() && id.bytes().all(|b| b.is_ascii_alphanumeric() || b"._-".contains(&b)) {
        id.into()
    } else {
        format!("{id:?}").into()
    }
}

/// Wraps where the log goes so that each event's text stays on its line: line breaks and
/// control characters inside an event are written escaped (`\n`, `\r`, `\x07`, `\u{2028}`), and
/// only the newline that ends the event is kept. tracing-subscriber escapes ANSI sequences in
/// field values itself; the ESC its own colouring writes is left alone.
#[derive(Clone, Debug)]
pub struct OneLine<M>(pub M);

impl<'a, M: MakeWriter<'a>> MakeWriter<'a> for OneLine<M> {
    type Writer = Escaping<M::Writer>;

    fn make_writer(&'a self) -> Self::Writer {
        Escaping::text(self.0.make_writer())
    }

    fn make_writer_for(&'a self, meta: &tracing::Metadata<'_>) -> Self::Writer {
        Escaping::text(self.0.make_writer_for(meta))
    }
}

/// [`OneLine`] for the JSON format: serde_json escapes line breaks and C0 controls itself but
/// writes DEL, C1 controls and U+2028/U+2029 raw; those become `\uXXXX`, so each line stays one
/// valid JSON object.
#[derive(Clone, Debug)]
pub struct JsonLine<M>(pub M);

impl<'a, M: MakeWriter<'a>> MakeWriter<'a> for JsonLine<M> {
    type Writer = Escaping<M::Writer>;

    fn make_writer(&'a self) -> Self::Writer {
        Escaping::json(self.0.make_writer())
    }

    fn make_writer_for(&'a self, meta: &tracing::Metadata<'_>) -> Self::Writer {
        Escaping::json(self.0.make_writer_for(meta))
    }
}

/// One event's writer (see [`OneLine`]). The fmt layer writes a whole event in one call.
pub struct Escaping<W> {
    inner: W,
    json: bool,
}

impl<W> Escaping<W> {
    fn text(inner: W) -> Self {
        Escaping { inner, json: false }
    }

    fn json(inner: W) -> Self {
        Escaping { inner, json: true }
    }
}

impl<W: Write> Write for Escaping<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let escaped = if self.json { escape_json(buf) } else { escape(buf) };
        self.inner.write_all(&escaped)?;
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

/// `buf` with every line break and control character but a final newline escaped.
pub fn escape(buf: &[u8]) -> Vec<u8> {
    escape_line(buf, |c, out| match c {
        '\n' => out.push_str("\\n"),
        '\r' => out.push_str("\\r"),
        // Tabs are harmless; ESC is the formatter's colouring (it escapes ESC in values).
        '\t' | '\x1b' => out.push(c),
        c if c.is_control() => out.push_str(&format!("\\x{:02x}", c as u32)),
        '\u{2028}' | '\u{2029}' => out.push_str(&format!("\\u{{{:x}}}", c as u32)),
        c => out.push(c),
    })
}

/// `buf` (a JSON line) with every character serde_json leaves raw that could break or disguise
/// a line written as a JSON `\uXXXX` escape; JSON text keeps them only inside strings.
pub fn escape_json(buf: &[u8]) -> Vec<u8> {
    escape_line(buf, |c, out| match c {
        c if c.is_control() || c == '\u{2028}' || c == '\u{2029}' => out.push_str(&format!("\\u{:04x}", c as u32)),
        c => out.push(c),
    })
}

/// One formatted line, its body passed through `rule` a character at a time; the final newline
/// (the line's own end) is kept as it is.
fn escape_line(buf: &[u8], rule: impl Fn(char, &mut String)) -> Vec<u8> {
    let (body, end) = match buf.strip_suffix(b"\n") {
        Some(body) => (body, &b"\n"[..]),
        None => (buf, &b""[..]),
    };
    let text = String::from_utf8_lossy(body);
    let mut out = String::with_capacity(text.len() + end.len());
    for c in text.chars() {
        rule(c, &mut out);
    }
    let mut out = out.into_bytes();
    out.extend_from_slice(end);
    out
}

#[cfg(test)]
mod tests {
    use super::{escape, escape_json};

    #[test]
    fn a_json_event_stays_one_valid_object() {
        let line = "{\"fields\":{\"message\":\"x\u{7f}\u{85}\u{2028}y\"}}\n";
        let out = String::from_utf8(escape_json(line.as_bytes())).unwrap();
        assert_eq!(out.matches('\n').count(), 1);
        assert!(!out.contains('\u{2028}') && !out.contains('\u{85}'));
        let v: serde_json::Value = serde_json::from_str(&out).unwrap();
        assert_eq!(v["fields"]["message"], "x\u{7f}\u{85}\u{2028}y");
    }

    #[test]
    fn an_event_stays_on_one_line() {
        let line = b"WARN op=1: unknown operation \"x\n2026-01-01T00:00:00Z ERROR forged\r\x07\xe2\x80\xa8\"\n";
        let out = String::from_utf8(escape(line)).unwrap();
        assert_eq!(
            out,
            "WARN op=1: unknown operation \"x\\n2026-01-01T00:00:00Z ERROR forged\\r\\x07\\u{2028}\"\n"
        );
        assert_eq!(out.matches('\n').count(), 1);
        assert_eq!(escape(b"\x1b[33mWARN\x1b[0m ok\n"), b"\x1b[33mWARN\x1b[0m ok\n");
    }

    #[test]
    fn an_id_that_is_not_a_plain_token_is_quoted() {
        assert_eq!(
            super::id_field("734a2c39-f9b7-4712-9e85-53cdff7ea660"),
            "734a2c39-f9b7-4712-9e85-53cdff7ea660"
        );
        assert_eq!(
            super::id_field("x plugin=istio key=istio}: y"),
            "\"x plugin=istio key=istio}: y\""
        );
        assert_eq!(super::id_field(""), "\"\"");
    }
}
