//! The users an administrator pastes or uploads for a job: one per line (or the first column of
//! a CSV, a header row allowed), each an object id (GUID) or a UPN. Bad rows are reported by
//! line number with the reason and the rest kept; duplicates are kept once (a UPN in any letter
//! case). A small RFC 4180 reader of our own, in slices so a browser can show progress, linear
//! in the text however it is sliced; a quote never closed is reported on the line it opened and
//! the rows after it are read as rows. At most [`MAX_ROWS`] rows or [`MAX_BYTES`] bytes.

use std::collections::HashMap;

use crate::graph::encode::UserRef;

/// Rows one list may hold (blank lines and the header row not counted).
pub const MAX_ROWS: usize = 100_000;
/// Bytes one list may hold (10 MB).
pub const MAX_BYTES: usize = 10 * 1024 * 1024;
/// Characters of a bad row's value kept to show it.
const SHOWN_VALUE_CHARS: usize = 120;

/// A row that is not a user, by line (1-based) with the reason.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BadRow {
    pub line: u64,
    pub value: String,
    pub reason: BadReason,
}

/// Why a row is not a user.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BadReason {
    /// Neither a GUID nor a UPN (`name@domain`).
    NotAUser,
    /// Already listed on an earlier line (kept once).
    Duplicate { first_line: u64 },
    /// A quoted field opens on this line and is not closed where a field can end (never, or
    /// followed by more text, or after a line break in the first column): the row is left out
    /// and reading goes on with the next line, rather than reading the rows after it as one
    /// value.
    UnclosedQuote,
}

impl BadReason {
    /// The i18n key of the reason.
    pub fn key(self) -> &'static str {
        match self {
            BadReason::NotAUser => "jobs.users.not_a_user",
            BadReason::Duplicate { .. } => "jobs.users.duplicate",
            BadReason::UnclosedQuote => "jobs.users.unclosed_quote",
        }
    }
}

/// Why a whole list was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TooLarge {
    /// The text is over [`MAX_BYTES`].
    Bytes { bytes: usize },
    /// Row [`MAX_ROWS`] + 1 is on `line`.
    Rows { line: u64 },
}

/// The users read so far, and the rows refused.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct UserList {
    pub users: Vec<UserRef>,
    pub bad: Vec<BadRow>,
    /// Set when the list is over a limit: it is then refused whole (no users, no bad rows).
    pub too_large: Option<TooLarge>,
    /// The line of each user (0 for one added from a search), in the order of `users`.
    lines: Vec<u64>,
    /// Lowercased key → the line it was first seen on.
    seen: HashMap<String, u64>,
    /// Rows counted against [`MAX_ROWS`].
    rows: usize,
    /// Where the last slice stopped: byte offset and its line, so the next slice does not
    /// count the lines before it again.
    cursor: (usize, u64),
    /// Bytes examined, all slices together (linear: at most twice the text).
    scanned: usize,
}

fn is_guid(value: &str) -> bool {
    let parts: Vec<&str> = value.split('-').collect();
    parts.len() == 5
        && [8, 4, 4, 4, 12]
            .iter()
            .zip(&parts)
            .all(|(n, p)| p.len() == *n && p.chars().all(|c| c.is_ascii_hexdigit()))
}

fn is_upn(value: &str) -> bool {
    match value.split_once('@') {
        Some((name, domain)) => {
            !name.is_empty()
                && domain.contains('.')
                && !domain.starts_with('.')
                && !domain.ends_with('.')
                && !value
                    .chars()
                    .any(|c| c.is_whitespace() || matches!(c, ',' | ';' | '"'))
                && !domain.contains('@')
        }
        None => false,
    }
}

const HEADERS: [&str; 6] = [
    "id",
    "objectid",
    "userid",
    "userprincipalname",
    "upn",
    "user",
];

/// One record read by [`Scanner::record`].
enum Record {
    /// A row: the line it starts on and its first field (untrimmed).
    Row { line: u64, first: String },
    /// A quoted field opened on `line` and is not closed where a field can end; `value` is
    /// that line's text.
    BrokenQuote { line: u64, value: String },
}

/// A quoted field not closed where a field can end: where it opened, and where reading goes
/// on (the next line).
struct BrokenQuote {
    line: u64,
    /// The end of the line the quote opened on.
    line_end: usize,
    /// The start of the next line (the end of the text if none).
    resume: usize,
}

/// RFC 4180 over a `&str`: `,` between fields, `"` around a field (`""` inside for a quote),
/// rows ended by CRLF, LF or CR, a quoted field may hold line breaks. Blanks around a quoted
/// field are skipped; a quote inside an unquoted field is text. A quote is broken when it is
/// never closed, when its closing quote is followed by more text (a stray quote paired with a
/// later one), or when it holds a line break in the first column (no user has one): that row is
/// left out and reading goes on with the line after the quote's, so a stray quote costs one
/// row, never the rest of the file. Linear: a broken quote's text is read again at most once.
struct Scanner<'a> {
    text: &'a str,
    pos: usize,
    line: u64,
    /// Where the current line starts.
    line_start: usize,
    /// The furthest byte examined.
    furthest: usize,
}

impl Scanner<'_> {
    fn byte(&self, at: usize) -> Option<u8> {
        self.text.as_bytes().get(at).copied()
    }

    /// The first line break (or the end of the text) at or after `from`.
    fn line_end(&self, from: usize) -> usize {
        self.text.as_bytes()[from..]
            .iter()
            .position(|b| matches!(b, b'\n' | b'\r'))
            .map_or(self.text.len(), |n| from + n)
    }

    /// The line break at `at` (CRLF as one): where the next line starts.
    fn after_break(&self, at: usize) -> usize {
        match (self.byte(at), self.byte(at + 1)) {
            (Some(b'\r'), Some(b'\n')) => at + 2,
            (Some(_), _) => at + 1,
            (None, _) => at,
        }
    }

    /// At `pos`, a line break: consumes it and counts the line.
    fn line_break(&mut self) {
        self.pos = self.after_break(self.pos);
        self.line += 1;
        self.line_start = self.pos;
    }

    /// One field from `pos`; stops before the `,` or line break after it.
    fn field(&mut self, first_column: bool) -> Result<String, BrokenQuote> {
        let start = self.pos;
        let mut at = start;
        while matches!(self.byte(at), Some(b' ' | b'\t')) {
            at += 1;
        }
        if self.byte(at) != Some(b'"') {
            let end = self.text.as_bytes()[start..]
                .iter()
                .position(|b| matches!(b, b',' | b'\n' | b'\r'))
                .map_or(self.text.len(), |n| start + n);
            self.pos = end;
            self.furthest = self.furthest.max(end);
            return Ok(self.text[start..end].to_string());
        }
        let line = self.line;
        // The end of the quote's line and the start of the next, once known.
        let mut first_break: Option<(usize, usize)> = None;
        let mut value = String::new();
        self.pos = at + 1;
        let mut segment = self.pos;
        let closed = loop {
            match self.byte(self.pos) {
                None => break false,
                Some(b'"') if self.byte(self.pos + 1) == Some(b'"') => {
                    value.push_str(&self.text[segment..=self.pos]);
                    self.pos += 2;
                    segment = self.pos;
                }
                Some(b'"') => {
                    value.push_str(&self.text[segment..self.pos]);
                    self.pos += 1;
                    break true;
                }
                Some(b'\n' | b'\r') => {
                    let line_end = self.pos;
                    first_break.get_or_insert((line_end, self.after_break(line_end)));
                    if first_column {
                        break false;
                    }
                    self.line_break();
                }
                Some(_) => self.pos += 1,
            }
        };
        while closed && matches!(self.byte(self.pos), Some(b' ' | b'\t')) {
            self.pos += 1;
        }
        self.furthest = self.furthest.max(self.pos);
        if closed && matches!(self.byte(self.pos), None | Some(b',' | b'\n' | b'\r')) {
            return Ok(value);
        }
        let (line_end, resume) = first_break.unwrap_or_else(|| {
            let end = self.line_end(self.pos);
            (end, self.after_break(end))
        });
        self.furthest = self.furthest.max(resume);
        Err(BrokenQuote {
            line,
            line_end,
            resume,
        })
    }

    /// The record at `pos` (`None` at the end of the text); `pos` is then at the next one.
    fn record(&mut self) -> Option<Record> {
        if self.pos >= self.text.len() {
            return None;
        }
        let line = self.line;
        let mut first: Option<String> = None;
        loop {
            // A field never starts after a line break: its quote opens on this line.
            let line_start = self.line_start;
            match self.field(first.is_none()) {
                Ok(value) => {
                    first.get_or_insert(value);
                }
                Err(broken) => {
                    let value = self.text[line_start..broken.line_end]
                        .trim()
                        .chars()
                        .take(SHOWN_VALUE_CHARS)
                        .collect();
                    self.pos = broken.resume;
                    self.line = broken.line + 1;
                    self.line_start = broken.resume;
                    return Some(Record::BrokenQuote {
                        line: broken.line,
                        value,
                    });
                }
            }
            match self.byte(self.pos) {
                Some(b',') => self.pos += 1,
                Some(_) => {
                    self.line_break();
                    break;
                }
                None => break,
            }
        }
        Some(Record::Row {
            line,
            first: first.unwrap_or_default(),
        })
    }
}

impl UserList {
    /// Adds one user picked from a search (kept once, like a listed one; line 0).
    pub fn add_key(&mut self, key: &str) {
        let lower = key.trim().to_lowercase();
        if !lower.is_empty() && !self.seen.contains_key(&lower) {
            self.seen.insert(lower, 0);
            self.users.push(UserRef::from_key(key));
            self.lines.push(0);
        }
    }

    /// The line each user was read from, in the order of `users` (0: added from a search).
    pub fn lines(&self) -> &[u64] {
        &self.lines
    }

    /// A list refused before it is read: a file of `bytes` over [`MAX_BYTES`].
    pub fn refused_for_size(bytes: usize) -> UserList {
        UserList {
            too_large: Some(TooLarge::Bytes { bytes }),
            ..UserList::default()
        }
    }

    /// Reads `text` (a whole paste or file). For very large inputs use [`UserList::read_slice`]
    /// repeatedly and yield between slices.
    pub fn parse(text: &str) -> UserList {
        let mut list = UserList::default();
        let mut offset = Some(0);
        while let Some(at) = offset {
            offset = list.read_slice(text, at, usize::MAX);
        }
        list
    }

    /// Reads at most `max_rows` records of `text` starting at byte `offset`; returns the offset
    /// to continue from (`None` when done, or when the list is refused for its size). Lines are
    /// numbered in the whole text. Linear when each slice starts where the last one stopped.
    pub fn read_slice(&mut self, text: &str, offset: usize, max_rows: usize) -> Option<usize> {
        if text.len() > MAX_BYTES {
            *self = UserList::refused_for_size(text.len());
            return None;
        }
        if self.too_large.is_some() || text.get(offset..).is_none() {
            return None;
        }
        let (mut pos, line) = match offset {
            0 => (0, 1),
            at if at == self.cursor.0 => (at, self.cursor.1),
            // Not where the last slice stopped: count the lines before it (once).
            at => {
                self.scanned += at;
                (at, text[..at].matches('\n').count() as u64 + 1)
            }
        };
        if pos == 0 && text.starts_with('\u{feff}') {
            pos = '\u{feff}'.len_utf8();
        }
        let mut scanner = Scanner {
            text,
            pos,
            line,
            line_start: pos,
            furthest: pos,
        };
        let mut records = 0;
        while records < max_rows {
            let Some(record) = scanner.record() else {
                break;
            };
            records += 1;
            let counted = match record {
                Record::Row { line, first } => self.take(line, &first),
                Record::BrokenQuote { line, value } => {
                    self.bad.push(BadRow {
                        line,
                        value,
                        reason: BadReason::UnclosedQuote,
                    });
                    Some(line)
                }
            };
            if let Some(line) = counted {
                self.rows += 1;
                if self.rows > MAX_ROWS {
                    *self = UserList {
                        too_large: Some(TooLarge::Rows { line }),
                        ..UserList::default()
                    };
                    return None;
                }
            }
        }
        self.scanned += scanner.furthest.saturating_sub(pos);
        self.cursor = (scanner.pos, scanner.line);
        (scanner.pos < text.len()).then_some(scanner.pos)
    }

    /// Takes the first field of the row on `line`; the line if it counts as a row.
    fn take(&mut self, line: u64, raw: &str) -> Option<u64> {
        let value = raw.trim().trim_start_matches('\u{feff}').trim();
        if value.is_empty() {
            return None;
        }
        if line == 1 && HEADERS.iter().any(|h| value.eq_ignore_ascii_case(h)) {
            return None;
        }
        if !is_guid(value) && !is_upn(value) {
            self.bad.push(BadRow {
                line,
                value: value.chars().take(SHOWN_VALUE_CHARS).collect(),
                reason: BadReason::NotAUser,
            });
            return Some(line);
        }
        let key = value.to_lowercase();
        if let Some(first_line) = self.seen.get(&key) {
            self.bad.push(BadRow {
                line,
                value: value.to_string(),
                reason: BadReason::Duplicate {
                    first_line: *first_line,
                },
            });
            return Some(line);
        }
        self.seen.insert(key, line);
        self.users.push(UserRef::from_key(value));
        self.lines.push(line);
        Some(line)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const GUID: &str = "5b649834-7412-4cce-9e69-176e95a394f5";

    #[test]
    fn ids_and_upns_are_kept_and_bad_rows_reported_by_line() {
        let text = format!(
            "userPrincipalName,displayName\n\
             adele@contoso.com,Adele\n\
             {GUID}\n\
             \n\
             not a user\n\
             ADELE@contoso.com\n\
             \"o'brien@contoso.com\",\"Seán, O'Brien\"\n\
             x@y\n"
        );
        let list = UserList::parse(&text);
        assert_eq!(
            list.users,
            vec![
                UserRef::Upn("adele@contoso.com".into()),
                UserRef::ObjectId(GUID.into()),
                UserRef::Upn("o'brien@contoso.com".into()),
            ]
        );
        let bad: Vec<(u64, BadReason)> = list.bad.iter().map(|b| (b.line, b.reason)).collect();
        assert_eq!(
            bad,
            vec![
                (5, BadReason::NotAUser),
                (6, BadReason::Duplicate { first_line: 2 }),
                (8, BadReason::NotAUser),
            ]
        );
    }

    #[test]
    fn a_stray_quote_is_reported_on_its_line_and_the_rows_after_it_are_kept() {
        // Hole 7 of issue #22: the csv crate read the quote to the end of the file, so every
        // later row became part of one bad value.
        let text = "a@contoso.com\n\"b@contoso.com\nc@contoso.com\n\nd@contoso.com,\"D, \"\"the\"\" user\"\n";
        let list = UserList::parse(text);
        assert_eq!(
            list.users,
            vec![
                UserRef::Upn("a@contoso.com".into()),
                UserRef::Upn("c@contoso.com".into()),
                UserRef::Upn("d@contoso.com".into()),
            ]
        );
        assert_eq!(list.lines(), [1, 3, 5]);
        let bad: Vec<(u64, &str, BadReason)> = list
            .bad
            .iter()
            .map(|b| (b.line, b.value.as_str(), b.reason))
            .collect();
        assert_eq!(bad, vec![(2, "\"b@contoso.com", BadReason::UnclosedQuote)]);
    }

    #[test]
    fn a_quoted_value_may_span_lines_and_later_lines_keep_their_numbers() {
        let text = "\"a@contoso.com\",\"Adele\r\nVance\"\r\n  \"b@contoso.com\"  ,x\r\nbad\r\n";
        let list = UserList::parse(text);
        assert_eq!(
            list.users,
            vec![
                UserRef::Upn("a@contoso.com".into()),
                UserRef::Upn("b@contoso.com".into()),
            ]
        );
        assert_eq!(list.lines(), [1, 3]);
        assert_eq!(list.bad.len(), 1);
        assert_eq!(
            (list.bad[0].line, list.bad[0].reason),
            (4, BadReason::NotAUser)
        );
    }

    #[test]
    fn an_unclosed_quote_in_a_later_column_names_the_line_the_quote_opened_on() {
        let text = "a@contoso.com,Adele\nb@contoso.com,\"Ben\nc@contoso.com\n";
        let list = UserList::parse(text);
        let bad: Vec<(u64, BadReason)> = list.bad.iter().map(|b| (b.line, b.reason)).collect();
        assert_eq!(bad, vec![(2, BadReason::UnclosedQuote)]);
        assert_eq!(list.lines(), [1, 3]);
        // A stray quote paired with a quote further down is found by the text after that
        // quote: one row left out, the rows between kept.
        let text = "a@contoso.com,\"Adele\nb@contoso.com,Ben \"Benny\" Ito\nc@contoso.com\n";
        let list = UserList::parse(text);
        let bad: Vec<(u64, &str, BadReason)> = list
            .bad
            .iter()
            .map(|b| (b.line, b.value.as_str(), b.reason))
            .collect();
        assert_eq!(
            bad,
            vec![(1, "a@contoso.com,\"Adele", BadReason::UnclosedQuote)]
        );
        assert_eq!(
            list.users,
            vec![
                UserRef::Upn("b@contoso.com".into()),
                UserRef::Upn("c@contoso.com".into()),
            ]
        );
        assert_eq!(list.lines(), [2, 3]);
    }

    #[test]
    fn a_byte_order_mark_a_header_and_old_mac_line_ends_are_read() {
        let text = format!("\u{feff}\"UserPrincipalName\",id\ra@contoso.com\r{GUID}\r");
        let list = UserList::parse(&text);
        assert_eq!(
            list.users,
            vec![
                UserRef::Upn("a@contoso.com".into()),
                UserRef::ObjectId(GUID.into()),
            ]
        );
        assert_eq!(list.lines(), [2, 3]);
        assert!(list.bad.is_empty());
    }

    #[test]
    fn reading_in_small_slices_reads_each_byte_a_bounded_number_of_times() {
        // Hole 7: each slice counted the lines of everything before it (quadratic in the file).
        let text: String = (0..2_000)
            .map(|i| format!("user{i:06}@contoso.com,\"name\"\n"))
            .collect();
        let mut list = UserList::default();
        let mut offset = 0;
        while let Some(next) = list.read_slice(&text, offset, 1) {
            offset = next;
        }
        assert_eq!(list.users.len(), 2_000);
        assert!(
            list.scanned <= 2 * text.len(),
            "{} bytes examined for a {}-byte list",
            list.scanned,
            text.len()
        );
        // Stray quotes on every line, each read on into the next line before it is found
        // broken: every line is still read a bounded number of times.
        let text: String = (0..2_000)
            .map(|i| format!("user{i:06}@contoso.com,\"x\n"))
            .collect();
        let mut list = UserList::default();
        let mut offset = 0;
        while let Some(next) = list.read_slice(&text, offset, 1) {
            offset = next;
        }
        assert!(list.users.is_empty());
        let lines: Vec<u64> = list.bad.iter().map(|b| b.line).collect();
        assert_eq!(lines, (1..=2_000).collect::<Vec<u64>>());
        assert!(list
            .bad
            .iter()
            .all(|b| b.reason == BadReason::UnclosedQuote));
        assert!(list.scanned <= 3 * text.len(), "{}", list.scanned);
    }

    #[test]
    fn a_list_over_the_size_limit_is_refused_whole_with_the_limit_named() {
        let rows = |n: usize| -> String {
            std::iter::once("userPrincipalName\n".to_string())
                .chain((0..n).map(|i| format!("user{i:06}@contoso.com\n")))
                .collect()
        };
        let at_limit = UserList::parse(&rows(MAX_ROWS));
        assert_eq!(at_limit.too_large, None);
        assert_eq!(at_limit.users.len(), MAX_ROWS);
        // One row more: refused, naming the line of the first row over the limit (line 1 is
        // the header).
        let over = UserList::parse(&rows(MAX_ROWS + 1));
        assert_eq!(
            over.too_large,
            Some(TooLarge::Rows {
                line: MAX_ROWS as u64 + 2
            })
        );
        assert!(over.users.is_empty() && over.bad.is_empty());
        // Over 10 MB: refused before a row is read.
        let big = format!("a@contoso.com,{}\n", "x".repeat(MAX_BYTES));
        let over = UserList::parse(&big);
        assert_eq!(over.too_large, Some(TooLarge::Bytes { bytes: big.len() }));
        assert!(over.users.is_empty());
        assert_eq!(
            UserList::refused_for_size(MAX_BYTES + 1).too_large,
            Some(TooLarge::Bytes {
                bytes: MAX_BYTES + 1
            })
        );
    }

    #[test]
    fn a_hundred_thousand_lines_in_slices_give_the_same_list() {
        let text: String = (0..100_000)
            .map(|i| format!("user{i:06}@contoso.com\n"))
            .collect();
        let whole = UserList::parse(&text);
        assert_eq!(whole.users.len(), 100_000);
        let mut sliced = UserList::default();
        let mut offset = 0;
        let mut slices = 0;
        while let Some(next) = sliced.read_slice(&text, offset, 7_000) {
            offset = next;
            slices += 1;
        }
        assert_eq!(slices, 14);
        assert_eq!(sliced.users, whole.users);
        assert!(sliced.bad.is_empty());
    }

    #[test]
    fn line_numbers_hold_across_slices() {
        let text = "a@b.com\nbad\nc@d.com\nworse\n";
        let mut list = UserList::default();
        let mut offset = 0;
        while let Some(next) = list.read_slice(text, offset, 1) {
            offset = next;
        }
        let lines: Vec<u64> = list.bad.iter().map(|b| b.line).collect();
        assert_eq!(lines, vec![2, 4]);
        assert_eq!(list.users.len(), 2);
    }
}
