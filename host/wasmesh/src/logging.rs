//! The host's log: one line per event, whatever text the event carries. Operation names,
//! namespaces, YAML and plugin messages reach the log; a newline in one of them must not start
//! a line that looks like the host's own.

use std::io::{self, Write};

use tracing_subscriber::fmt::MakeWriter;

/// Wraps where the log goes so that each event's text stays on its line: line breaks and
/// control characters inside an event are written escaped (`\n`, `\r`, `\x07`, `\u{2028}`), and
/// only the newline that ends the event is kept. tracing-subscriber escapes ANSI sequences in
/// field values itself; the ESC its own colouring writes is left alone.
#[derive(Clone, Debug)]
pub struct OneLine<M>(pub M);

impl<'a, M: MakeWriter<'a>> MakeWriter<'a> for OneLine<M> {
    type Writer = Escaping<M::Writer>;

    fn make_writer(&'a self) -> Self::Writer {
        Escaping(self.0.make_writer())
    }

    fn make_writer_for(&'a self, meta: &tracing::Metadata<'_>) -> Self::Writer {
        Escaping(self.0.make_writer_for(meta))
    }
}

/// One event's writer (see [`OneLine`]). The fmt layer writes a whole event in one call.
pub struct Escaping<W>(W);

impl<W: Write> Write for Escaping<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0.write_all(&escape(buf))?;
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        self.0.flush()
    }
}

/// `buf` with every line break and control character but a final newline escaped.
pub fn escape(buf: &[u8]) -> Vec<u8> {
    let (body, end) = match buf.strip_suffix(b"\n") {
        Some(body) => (body, &b"\n"[..]),
        None => (buf, &b""[..]),
    };
    let text = String::from_utf8_lossy(body);
    let mut out = String::with_capacity(text.len() + end.len());
    for c in text.chars() {
        match c {
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            // Tabs are harmless; ESC is the formatter's colouring (it escapes ESC in values).
            '\t' | '\x1b' => out.push(c),
            c if c.is_control() => out.push_str(&format!("\\x{:02x}", c as u32)),
            '\u{2028}' | '\u{2029}' => out.push_str(&format!("\\u{{{:x}}}", c as u32)),
            c => out.push(c),
        }
    }
    let mut out = out.into_bytes();
    out.extend_from_slice(end);
    out
}

#[cfg(test)]
mod tests {
    use super::escape;

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
}
