//! The OData query subset Graph accepts for the operations we serve: `$filter` with `eq`,
//! `startswith`, `and`, `or` and parentheses over (possibly nested) properties, and `$search`
//! clauses `"property:words"` joined by OR/AND.

/// A parsed `$filter`.
#[derive(Debug, Clone, PartialEq)]
pub enum Filter {
    Eq(String, String),
    StartsWith(String, String),
    And(Box<Filter>, Box<Filter>),
    Or(Box<Filter>, Box<Filter>),
}

impl Filter {
    /// Evaluates against a property getter (property paths use `/`).
    pub fn matches(&self, get: &dyn Fn(&str) -> Option<String>) -> bool {
        match self {
            Filter::Eq(p, v) => get(p).is_some_and(|x| x.eq_ignore_ascii_case(v)),
            Filter::StartsWith(p, v) => {
                get(p).is_some_and(|x| x.to_lowercase().starts_with(&v.to_lowercase()))
            }
            Filter::And(a, b) => a.matches(get) && b.matches(get),
            Filter::Or(a, b) => a.matches(get) || b.matches(get),
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
enum Token {
    Ident(String),
    Literal(String),
    Open,
    Close,
    Comma,
}

fn tokenize(text: &str) -> Result<Vec<Token>, String> {
    let chars: Vec<char> = text.chars().collect();
    let mut tokens = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        match c {
            ' ' | '\t' => i += 1,
            '(' => {
                tokens.push(Token::Open);
                i += 1;
            }
            ')' => {
                tokens.push(Token::Close);
                i += 1;
            }
            ',' => {
                tokens.push(Token::Comma);
                i += 1;
            }
            '\'' => {
                let mut value = String::new();
                i += 1;
                loop {
                    match chars.get(i) {
                        None => return Err("unterminated string literal".into()),
                        Some('\'') if chars.get(i + 1) == Some(&'\'') => {
                            value.push('\'');
                            i += 2;
                        }
                        Some('\'') => {
                            i += 1;
                            break;
                        }
                        Some(other) => {
                            value.push(*other);
                            i += 1;
                        }
                    }
                }
                tokens.push(Token::Literal(value));
            }
            c if c.is_alphanumeric() || c == '/' || c == '_' || c == '@' || c == '.' => {
                let start = i;
                while i < chars.len() && (chars[i].is_alphanumeric() || "/_@.-".contains(chars[i]))
                {
                    i += 1;
                }
                tokens.push(Token::Ident(chars[start..i].iter().collect()));
            }
            other => return Err(format!("unexpected character '{other}'")),
        }
    }
    Ok(tokens)
}

struct Parser {
    tokens: Vec<Token>,
    pos: usize,
}

impl Parser {
    fn peek(&self) -> Option<&Token> {
        self.tokens.get(self.pos)
    }
    fn next(&mut self) -> Option<Token> {
        let token = self.tokens.get(self.pos).cloned();
        self.pos += 1;
        token
    }
    fn expect(&mut self, token: Token) -> Result<(), String> {
        match self.next() {
            Some(t) if t == token => Ok(()),
            other => Err(format!("expected {token:?}, found {other:?}")),
        }
    }
    fn keyword(&self, word: &str) -> bool {
        matches!(self.peek(), Some(Token::Ident(w)) if w.eq_ignore_ascii_case(word))
    }
    fn or(&mut self) -> Result<Filter, String> {
        let mut left = self.and()?;
        while self.keyword("or") {
            self.pos += 1;
            left = Filter::Or(Box::new(left), Box::new(self.and()?));
        }
        Ok(left)
    }
    fn and(&mut self) -> Result<Filter, String> {
        let mut left = self.term()?;
        while self.keyword("and") {
            self.pos += 1;
            left = Filter::And(Box::new(left), Box::new(self.term()?));
        }
        Ok(left)
    }
    fn term(&mut self) -> Result<Filter, String> {
        match self.next() {
            Some(Token::Open) => {
                let inner = self.or()?;
                self.expect(Token::Close)?;
                Ok(inner)
            }
            Some(Token::Ident(name))
                if name.eq_ignore_ascii_case("startswith") && self.peek() == Some(&Token::Open) =>
            {
                self.expect(Token::Open)?;
                let Some(Token::Ident(property)) = self.next() else {
                    return Err("startswith needs a property".into());
                };
                self.expect(Token::Comma)?;
                let Some(Token::Literal(value)) = self.next() else {
                    return Err("startswith needs a string".into());
                };
                self.expect(Token::Close)?;
                Ok(Filter::StartsWith(property, value))
            }
            Some(Token::Ident(property)) => {
                if !self.keyword("eq") {
                    return Err(format!("unsupported operator after '{property}'"));
                }
                self.pos += 1;
                match self.next() {
                    Some(Token::Literal(value)) => Ok(Filter::Eq(property, value)),
                    Some(Token::Ident(value))
                        if value.eq_ignore_ascii_case("true")
                            || value.eq_ignore_ascii_case("false") =>
                    {
                        Ok(Filter::Eq(property, value.to_ascii_lowercase()))
                    }
                    other => Err(format!("expected a literal, found {other:?}")),
                }
            }
            other => Err(format!("unexpected {other:?}")),
        }
    }
}

/// Parses a `$filter` value.
pub fn parse_filter(text: &str) -> Result<Filter, String> {
    let mut parser = Parser {
        tokens: tokenize(text)?,
        pos: 0,
    };
    let filter = parser.or()?;
    if parser.pos != parser.tokens.len() {
        return Err("unexpected text after the expression".into());
    }
    Ok(filter)
}

/// A `$search` clause: every word of `value` must start a word of `property`.
#[derive(Debug, Clone, PartialEq)]
pub struct SearchClause {
    pub property: String,
    pub value: String,
}

/// Parses `"displayName:zoë" OR "mail:zoe"` (OR only, or AND only).
pub fn parse_search(text: &str) -> Result<(Vec<SearchClause>, bool), String> {
    let mut clauses = Vec::new();
    let mut any = true;
    let mut rest = text.trim();
    loop {
        let Some(after_quote) = rest.strip_prefix('"') else {
            return Err("each $search clause must be in double quotes: \"property:value\"".into());
        };
        let Some(end) = after_quote.find('"') else {
            return Err("unterminated $search clause".into());
        };
        let clause = &after_quote[..end];
        let Some((property, value)) = clause.split_once(':') else {
            return Err("a $search clause must be \"property:value\"".into());
        };
        clauses.push(SearchClause {
            property: property.trim().to_string(),
            value: value.trim().to_string(),
        });
        rest = after_quote[end + 1..].trim();
        if rest.is_empty() {
            break;
        }
        let (word, tail) = rest
            .split_once(' ')
            .ok_or("expected OR or AND between $search clauses")?;
        match word {
            "OR" => any = true,
            "AND" => any = false,
            _ => return Err("expected OR or AND between $search clauses".into()),
        }
        rest = tail.trim();
    }
    Ok((clauses, any))
}

/// Whether every word of `value` starts some word of `text` (case-insensitive, as Graph's
/// tokenised search on directory objects).
pub fn search_matches(text: &str, value: &str) -> bool {
    let whole = text.to_lowercase();
    let starts_a_word = |needle: &str| {
        whole.match_indices(needle).any(|(i, _)| {
            whole[..i]
                .chars()
                .next_back()
                .is_none_or(|c| c.is_whitespace() || "@._-'".contains(c))
        })
    };
    value.to_lowercase().split_whitespace().all(starts_a_word)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_escaped_quotes_and_combinations() {
        let f = parse_filter("startswith(displayName,'O''Brien') or userPrincipalName eq 'x@y'")
            .unwrap();
        assert_eq!(
            f,
            Filter::Or(
                Box::new(Filter::StartsWith("displayName".into(), "O'Brien".into())),
                Box::new(Filter::Eq("userPrincipalName".into(), "x@y".into()))
            )
        );
        let g = parse_filter("(teamsApp/id eq 'a') and teamsApp/externalId eq 'b'").unwrap();
        assert!(g.matches(&|p| Some(if p == "teamsApp/id" {
            "A".into()
        } else {
            "b".into()
        })));
    }

    #[test]
    fn rejects_what_graph_rejects() {
        assert!(parse_filter("displayName ne 'x'").is_err());
        assert!(parse_filter("startswith(displayName,'x'").is_err());
        assert!(parse_filter("displayName eq 'unterminated").is_err());
    }

    #[test]
    fn evaluation_is_case_insensitive() {
        let f = parse_filter("startswith(displayName,'zo')").unwrap();
        assert!(f.matches(&|_| Some("Zoë Müller".into())));
        assert!(!f.matches(&|_| None));
    }

    #[test]
    fn search_clauses_and_word_prefixes() {
        let (clauses, any) = parse_search("\"displayName:o'brien\" OR \"mail:sean\"").unwrap();
        assert!(any);
        assert_eq!(clauses.len(), 2);
        assert!(search_matches("Seán O'Brien", "o'brien"));
        assert!(search_matches("Zoë Müller", "mül"));
        assert!(!search_matches("Zoë Müller", "ller"));
        assert!(parse_search("displayName:x").is_err());
    }
}
