//! The OData query subset Graph accepts for the operations we serve: `$filter` with `eq`,
//! `startswith`, `and`, `or` and parentheses over (possibly nested) properties, `$search`
//! clauses `"property:words"` joined by OR/AND, and `$expand` items with options in
//! parentheses (`appDefinitions($expand=bot)`).

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

/// One item of a `$expand`: a navigation property, and the query options in its parentheses.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ExpandItem {
    /// As written.
    pub property: String,
    /// The nested `$expand` (`appDefinitions($expand=bot)`).
    pub expand: Vec<ExpandItem>,
    /// The other options in the parentheses (`$select`, `$filter`, …): lowercase name and value.
    pub options: Vec<(String, String)>,
}

/// The query options OData allows inside an expansion's parentheses.
const EXPAND_OPTIONS: [&str; 10] = [
    "$select", "$expand", "$filter", "$orderby", "$top", "$skip", "$count", "$search", "$levels",
    "$compute",
];

/// Splits `text` at each `separator` outside parentheses and single-quoted literals.
fn split_outside(text: &str, separator: char) -> Result<Vec<&str>, String> {
    let mut parts = Vec::new();
    let (mut depth, mut quoted, mut start) = (0usize, false, 0);
    for (i, c) in text.char_indices() {
        match c {
            '\'' => quoted = !quoted,
            '(' if !quoted => depth += 1,
            ')' if !quoted => {
                depth = depth
                    .checked_sub(1)
                    .ok_or_else(|| format!("unbalanced ')' at position {i}"))?;
            }
            c if c == separator && !quoted && depth == 0 => {
                parts.push(&text[start..i]);
                start = i + c.len_utf8();
            }
            _ => {}
        }
    }
    if quoted {
        return Err("unterminated string literal".into());
    }
    if depth != 0 {
        return Err("unbalanced '(': a ')' is missing".into());
    }
    parts.push(&text[start..]);
    Ok(parts)
}

/// Parses a `$expand` value: items separated by commas, each a property with, optionally,
/// options in parentheses separated by semicolons (`appDefinitions($select=id;$expand=bot)`).
/// A nested `$expand` is parsed the same way; the other options are kept, not interpreted.
pub fn parse_expand(text: &str) -> Result<Vec<ExpandItem>, String> {
    let mut items = Vec::new();
    for item in split_outside(text, ',')? {
        let item = item.trim();
        if item.is_empty() {
            continue;
        }
        let (property, inner) = match item.split_once('(') {
            Some((property, rest)) => {
                let inner = rest.trim_end().strip_suffix(')').ok_or_else(|| {
                    format!("unexpected text after the options of '{}'", property.trim())
                })?;
                (property.trim(), Some(inner))
            }
            None => (item, None),
        };
        if property.is_empty()
            || !property
                .chars()
                .all(|c| c.is_alphanumeric() || "_./*".contains(c))
        {
            return Err(format!("'{property}' is not a property to expand"));
        }
        let mut parsed = ExpandItem {
            property: property.to_string(),
            ..ExpandItem::default()
        };
        for option in split_outside(inner.unwrap_or(""), ';')? {
            let option = option.trim();
            if option.is_empty() {
                continue;
            }
            let (name, value) = option.split_once('=').ok_or_else(|| {
                format!("'{option}' in the options of '{property}' is not name=value")
            })?;
            let name = name.trim().to_ascii_lowercase();
            if !EXPAND_OPTIONS.contains(&name.as_str()) {
                return Err(format!(
                    "'{name}' is not a query option allowed in the options of '{property}'"
                ));
            }
            if name == "$expand" {
                parsed.expand.extend(parse_expand(value)?);
            } else {
                parsed.options.push((name, value.trim().to_string()));
            }
        }
        items.push(parsed);
    }
    Ok(items)
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
    fn expand_items_with_nested_options() {
        let items = parse_expand("appDefinitions($expand=bot)").unwrap();
        assert_eq!(items.len(), 1);
        assert_eq!(items[0].property, "appDefinitions");
        assert_eq!(items[0].expand[0].property, "bot");
        // Commas and semicolons inside parentheses or literals stay in their item.
        let items = parse_expand(
            "teamsApp, appDefinitions($select=id,version; $filter=displayName eq 'a,b)';$EXPAND=bot($select=id))",
        )
        .unwrap();
        assert_eq!(items.len(), 2);
        assert_eq!(
            items[0],
            ExpandItem {
                property: "teamsApp".into(),
                ..Default::default()
            }
        );
        assert_eq!(items[1].expand[0].property, "bot");
        assert_eq!(
            items[1].expand[0].options,
            vec![("$select".into(), "id".into())]
        );
        assert_eq!(
            items[1].options,
            vec![
                ("$select".into(), "id,version".into()),
                ("$filter".into(), "displayName eq 'a,b)'".into())
            ]
        );
        assert_eq!(parse_expand("appDefinitions()").unwrap()[0].expand, vec![]);
        assert_eq!(parse_expand(" , ").unwrap(), vec![]);
    }

    #[test]
    fn expand_syntax_errors() {
        for bad in [
            "appDefinitions($expand=bot",
            "appDefinitions$expand=bot)",
            "appDefinitions($expand=bot))",
            "appDefinitions($expand=bot)x",
            "appDefinitions(expand=bot)",
            "appDefinitions($expand)",
            "appDefinitions($filter=id eq 'x)",
            "appDefinitions($expand=bot(",
            "(bot)",
        ] {
            assert!(parse_expand(bad).is_err(), "{bad}");
        }
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
