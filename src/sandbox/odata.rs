//! OData query options as Graph parses them for users: query-string decoding, `$select`,
//! `$top`, and a `$filter` subset (`eq`, `startswith`, `and`, `or`, parentheses) with
//! proper string literals (`''` is an escaped quote) and Graph's syntax-error messages.

use axum::http::StatusCode;
use percent_encoding::percent_decode_str;

use super::error::GraphFault;

/// Properties a user has in v1.0.
pub(crate) const USER_PROPS: &[&str] = &[
    "id",
    "businessPhones",
    "displayName",
    "givenName",
    "jobTitle",
    "mail",
    "mobilePhone",
    "officeLocation",
    "preferredLanguage",
    "surname",
    "userPrincipalName",
    "employeeId",
    "userType",
    "accountEnabled",
];
/// What `GET /users` returns without `$select` (user-list.md).
pub(crate) const DEFAULT_SELECT: &[&str] = &[
    "businessPhones",
    "displayName",
    "givenName",
    "jobTitle",
    "mail",
    "mobilePhone",
    "officeLocation",
    "preferredLanguage",
    "surname",
    "userPrincipalName",
    "id",
];
/// Properties `$filter` supports `eq` on in the sandbox.
const FILTERABLE: &[&str] = &[
    "id",
    "userPrincipalName",
    "mail",
    "employeeId",
    "displayName",
    "givenName",
    "surname",
    "userType",
    "accountEnabled",
];

/// Percent-decode one path segment (`%23EXT%23` → `#EXT#`).
pub(crate) fn decode_segment(s: &str) -> String {
    percent_decode_str(s).decode_utf8_lossy().into_owned()
}

/// Decoded `key=value` pairs of a query string (`+` is a space).
pub(crate) fn query_pairs(query: Option<&str>) -> Vec<(String, String)> {
    let dec = |s: &str| {
        percent_decode_str(&s.replace('+', " "))
            .decode_utf8_lossy()
            .into_owned()
    };
    query
        .unwrap_or("")
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|p| match p.split_once('=') {
            Some((k, v)) => (dec(k), dec(v)),
            None => (dec(p), String::new()),
        })
        .collect()
}

/// The value of a query option, if given.
pub(crate) fn option<'a>(pairs: &'a [(String, String)], key: &str) -> Option<&'a str> {
    pairs
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(key))
        .map(|(_, v)| v.as_str())
}

/// Parse `$select`: known properties, in order, `id` always included.
pub(crate) fn select(raw: Option<&str>) -> Result<Option<Vec<String>>, GraphFault> {
    let Some(raw) = raw else { return Ok(None) };
    let mut out: Vec<String> = Vec::new();
    for p in raw.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let Some(known) = USER_PROPS.iter().find(|k| k.eq_ignore_ascii_case(p)) else {
            return Err(GraphFault::bad_request(format!(
                "Could not find a property named '{p}' on type 'microsoft.graph.user'."
            )));
        };
        out.push((*known).to_string());
    }
    if !out.iter().any(|p| p == "id") {
        out.push("id".into());
    }
    Ok(Some(out))
}

/// A filter literal.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Literal {
    Str(String),
    Bool(bool),
    Null,
}

/// A parsed `$filter`.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Filter {
    Eq(String, Literal),
    StartsWith(String, String),
    And(Box<Filter>, Box<Filter>),
    Or(Box<Filter>, Box<Filter>),
}

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    Ident(String),
    Str(String),
    Open,
    Close,
    Comma,
}

fn syntax(filter: &str, pos: usize) -> GraphFault {
    let c = filter[pos..].chars().next().unwrap_or(' ');
    GraphFault::new(
        StatusCode::BAD_REQUEST,
        "BadRequest",
        format!("Syntax error: character '{c}' is not valid at position {pos} in '{filter}'."),
    )
}

fn tokens(filter: &str) -> Result<Vec<(usize, Tok)>, GraphFault> {
    let mut out = Vec::new();
    let mut it = filter.char_indices().peekable();
    while let Some(&(i, c)) = it.peek() {
        match c {
            ' ' | '\t' => {
                it.next();
            }
            '(' | ')' | ',' => {
                it.next();
                let t = match c {
                    '(' => Tok::Open,
                    ')' => Tok::Close,
                    _ => Tok::Comma,
                };
                out.push((i, t));
            }
            '\'' => {
                it.next();
                let mut s = String::new();
                loop {
                    match it.next() {
                        None => {
                            return Err(GraphFault::new(
                                StatusCode::BAD_REQUEST,
                                "BadRequest",
                                format!(
                                    "There is an unterminated string literal at position {i} \
                                     in '{filter}'."
                                ),
                            ))
                        }
                        Some((_, '\'')) => {
                            // m365-facts A§7 / OData ABNF: '' inside a literal is one quote.
                            if it.peek().is_some_and(|&(_, n)| n == '\'') {
                                it.next();
                                s.push('\'');
                            } else {
                                break;
                            }
                        }
                        Some((_, ch)) => s.push(ch),
                    }
                }
                out.push((i, Tok::Str(s)));
            }
            c if c.is_alphanumeric() || c == '_' || c == '$' => {
                let mut s = String::new();
                while let Some(&(_, ch)) = it.peek() {
                    if ch.is_alphanumeric() || ch == '_' || ch == '.' || ch == '/' {
                        s.push(ch);
                        it.next();
                    } else {
                        break;
                    }
                }
                out.push((i, Tok::Ident(s)));
            }
            _ => return Err(syntax(filter, i)),
        }
    }
    Ok(out)
}

struct Parser<'a> {
    filter: &'a str,
    toks: Vec<(usize, Tok)>,
    at: usize,
}

impl Parser<'_> {
    fn peek(&self) -> Option<&Tok> {
        self.toks.get(self.at).map(|(_, t)| t)
    }

    fn err_here(&self) -> GraphFault {
        let pos = self
            .toks
            .get(self.at)
            .map_or(self.filter.len(), |(p, _)| *p);
        if pos >= self.filter.len() {
            return GraphFault::new(
                StatusCode::BAD_REQUEST,
                "BadRequest",
                format!(
                    "Expression expected at position {pos} in '{}'.",
                    self.filter
                ),
            );
        }
        syntax(self.filter, pos)
    }

    fn next(&mut self) -> Option<Tok> {
        let t = self.toks.get(self.at).map(|(_, t)| t.clone());
        self.at += 1;
        t
    }

    fn expr(&mut self) -> Result<Filter, GraphFault> {
        let mut left = self.conj()?;
        while matches!(self.peek(), Some(Tok::Ident(k)) if k.eq_ignore_ascii_case("or")) {
            self.next();
            left = Filter::Or(Box::new(left), Box::new(self.conj()?));
        }
        Ok(left)
    }

    fn conj(&mut self) -> Result<Filter, GraphFault> {
        let mut left = self.term()?;
        while matches!(self.peek(), Some(Tok::Ident(k)) if k.eq_ignore_ascii_case("and")) {
            self.next();
            left = Filter::And(Box::new(left), Box::new(self.term()?));
        }
        Ok(left)
    }

    fn term(&mut self) -> Result<Filter, GraphFault> {
        match self.next() {
            Some(Tok::Open) => {
                let inner = self.expr()?;
                match self.next() {
                    Some(Tok::Close) => Ok(inner),
                    _ => {
                        self.at -= 1;
                        Err(self.err_here())
                    }
                }
            }
            Some(Tok::Ident(f)) if f.eq_ignore_ascii_case("startswith") => {
                let ok = matches!(self.next(), Some(Tok::Open));
                let prop = self.next();
                let comma = matches!(self.next(), Some(Tok::Comma));
                let lit = self.next();
                let close = matches!(self.next(), Some(Tok::Close));
                match (ok, prop, comma, lit, close) {
                    (true, Some(Tok::Ident(p)), true, Some(Tok::Str(s)), true) => {
                        Ok(Filter::StartsWith(property(&p)?, s))
                    }
                    _ => {
                        self.at -= 1;
                        Err(self.err_here())
                    }
                }
            }
            Some(Tok::Ident(p)) => {
                let prop = property(&p)?;
                match self.next() {
                    Some(Tok::Ident(op)) if op.eq_ignore_ascii_case("eq") => {}
                    Some(Tok::Ident(op)) => {
                        return Err(GraphFault::new(
                            StatusCode::BAD_REQUEST,
                            "Request_UnsupportedQuery",
                            format!("Unsupported Query. Operator '{op}' is not supported."),
                        ))
                    }
                    _ => {
                        self.at -= 1;
                        return Err(self.err_here());
                    }
                }
                let lit = match self.next() {
                    Some(Tok::Str(s)) => Literal::Str(s),
                    Some(Tok::Ident(b)) if b == "true" || b == "false" => {
                        Literal::Bool(b == "true")
                    }
                    Some(Tok::Ident(n)) if n == "null" => Literal::Null,
                    _ => {
                        self.at -= 1;
                        return Err(self.err_here());
                    }
                };
                Ok(Filter::Eq(prop, lit))
            }
            _ => {
                self.at = self.at.saturating_sub(1);
                Err(self.err_here())
            }
        }
    }
}

fn property(p: &str) -> Result<String, GraphFault> {
    let Some(known) = USER_PROPS.iter().find(|k| k.eq_ignore_ascii_case(p)) else {
        return Err(GraphFault::bad_request(format!(
            "Could not find a property named '{p}' on type 'microsoft.graph.user'."
        )));
    };
    if !FILTERABLE.contains(known) {
        return Err(GraphFault::new(
            StatusCode::BAD_REQUEST,
            "Request_UnsupportedQuery",
            format!(
                "Unsupported or invalid query filter clause specified for property '{known}' \
                 of resource 'User'."
            ),
        ));
    }
    Ok((*known).to_string())
}

/// Parse a `$filter` value.
pub(crate) fn filter(raw: &str) -> Result<Filter, GraphFault> {
    let mut p = Parser {
        filter: raw,
        toks: tokens(raw)?,
        at: 0,
    };
    let f = p.expr()?;
    if p.at < p.toks.len() {
        return Err(p.err_here());
    }
    Ok(f)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn doubled_quotes_are_one_quote_and_bad_literals_are_refused() {
        assert_eq!(
            filter("userPrincipalName eq 'liam.o''brien@contoso.com'").unwrap(),
            Filter::Eq(
                "userPrincipalName".into(),
                Literal::Str("liam.o'brien@contoso.com".into())
            )
        );
        let e = filter("mail eq 'o'brien").unwrap_err();
        assert!(e.message.starts_with("Syntax error"), "{}", e.message);
        let e = filter("mail eq 'o'brien'").unwrap_err();
        assert!(e.message.contains("unterminated"), "{}", e.message);
        assert!(filter("nope eq 'x'").is_err());
        assert!(filter("(mail eq 'a' or employeeId eq 'E1') and accountEnabled eq true").is_ok());
    }
}
