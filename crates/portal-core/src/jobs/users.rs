//! The users an administrator pastes or uploads for a job: one per line (or the first column of
//! a CSV, a header row allowed), each an object id (GUID) or a UPN. Bad rows are reported by
//! line number with the reason and the rest kept; duplicates are kept once. Parsed with the
//! `csv` crate, in slices of lines so a browser can show progress on 100,000 lines.

use crate::graph::encode::UserRef;

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
    /// The CSV itself could not be read there (an unbalanced quote, not UTF-8).
    Unreadable,
}

impl BadReason {
    /// The i18n key of the reason.
    pub fn key(self) -> &'static str {
        match self {
            BadReason::NotAUser => "jobs.users.not_a_user",
            BadReason::Duplicate { .. } => "jobs.users.duplicate",
            BadReason::Unreadable => "jobs.users.unreadable",
        }
    }
}

/// The users read so far, and the rows refused.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct UserList {
    pub users: Vec<UserRef>,
    pub bad: Vec<BadRow>,
    /// Lowercased key → the line it was first seen on.
    seen: std::collections::HashMap<String, u64>,
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
                    .any(|c| c.is_whitespace() || c == ',' || c == ';')
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

impl UserList {
    /// Adds one user picked from a search (kept once, like a listed one).
    pub fn add_key(&mut self, key: &str) {
        let lower = key.trim().to_lowercase();
        if !lower.is_empty() && !self.seen.contains_key(&lower) {
            self.seen.insert(lower, 0);
            self.users.push(UserRef::from_key(key));
        }
    }

    /// Reads `text` (a whole paste or file). For very large inputs use [`UserList::read_slice`]
    /// repeatedly and yield between slices.
    pub fn parse(text: &str) -> UserList {
        let mut list = UserList::default();
        list.read_slice(text, 0, usize::MAX);
        list
    }

    /// Reads at most `max_rows` records of `text` starting at byte `offset`; returns the offset
    /// to continue from (`None` when done). Lines are numbered in the whole text.
    pub fn read_slice(&mut self, text: &str, offset: usize, max_rows: usize) -> Option<usize> {
        let rest = text.get(offset..)?;
        // Lines are counted from bytes (the csv crate does not count the blank lines it skips),
        // incrementally: each record's line from the previous one's.
        let mut cursor = (offset, text[..offset].matches('\n').count() as u64 + 1);
        let mut line_at = |byte: u64| {
            // A record's position may be that of the blank lines skipped before it.
            let mut end = (offset + byte as usize).min(text.len()).max(cursor.0);
            while matches!(text.as_bytes().get(end), Some(b'\n' | b'\r')) {
                end += 1;
            }
            cursor.1 += text.as_bytes()[cursor.0..end]
                .iter()
                .filter(|b| **b == b'\n')
                .count() as u64;
            cursor.0 = end;
            cursor.1
        };
        let mut reader = csv::ReaderBuilder::new()
            .has_headers(false)
            .flexible(true)
            .trim(csv::Trim::All)
            .from_reader(rest.as_bytes());
        let mut record = csv::StringRecord::new();
        let mut rows = 0;
        loop {
            if rows == max_rows {
                let consumed = reader.position().byte() as usize;
                return Some(offset + consumed);
            }
            match reader.read_record(&mut record) {
                Ok(false) => return None,
                Ok(true) => {
                    rows += 1;
                    let line = line_at(record.position().map_or(0, |p| p.byte()));
                    self.take(line, record.get(0).unwrap_or(""));
                }
                Err(error) => {
                    rows += 1;
                    let line = line_at(error.position().map_or(0, |p| p.byte()));
                    self.bad.push(BadRow {
                        line,
                        value: String::new(),
                        reason: BadReason::Unreadable,
                    });
                }
            }
        }
    }

    fn take(&mut self, line: u64, raw: &str) {
        let value = raw.trim().trim_start_matches('\u{feff}');
        if value.is_empty() {
            return;
        }
        if line == 1 && HEADERS.iter().any(|h| value.eq_ignore_ascii_case(h)) {
            return;
        }
        if !is_guid(value) && !is_upn(value) {
            self.bad.push(BadRow {
                line,
                value: value.to_string(),
                reason: BadReason::NotAUser,
            });
            return;
        }
        let key = value.to_ascii_lowercase();
        if let Some(first_line) = self.seen.get(&key) {
            self.bad.push(BadRow {
                line,
                value: value.to_string(),
                reason: BadReason::Duplicate {
                    first_line: *first_line,
                },
            });
            return;
        }
        self.seen.insert(key, line);
        self.users.push(UserRef::from_key(value));
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
