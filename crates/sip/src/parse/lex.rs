//! Lexical rules the typed parsers share (RFC 3261 §25.1): `token` characters, linear white
//! space, `quoted-string`, comma-separated lists and `;name=value` header parameters.

use crate::uri::Params;

/// `token` characters (§25.1): `alphanum / "-" / "." / "!" / "%" / "*" / "_" / "+" / "`" /
/// "'" / "~"`.
pub(crate) fn is_token_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric()
        || matches!(
            b,
            b'-' | b'.' | b'!' | b'%' | b'*' | b'_' | b'+' | b'`' | b'\'' | b'~'
        )
}

/// A non-empty `token`.
pub(crate) fn is_token(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(is_token_byte)
}

/// `WSP` (§25.1): SP or HTAB. Values are unfolded before they reach the typed parsers, so
/// linear white space is only ever WSP here.
pub(crate) fn is_wsp(b: u8) -> bool {
    b == b' ' || b == b'\t'
}

/// `s` without leading and trailing WSP.
pub(crate) fn trim_lws(s: &str) -> &str {
    s.trim_matches([' ', '\t'])
}

/// The index of the first byte at or after `i` that is not WSP.
pub(crate) fn skip_wsp(bytes: &[u8], mut i: usize) -> usize {
    while i < bytes.len() && is_wsp(bytes[i]) {
        i += 1;
    }
    i
}

/// The index just past the closing `"` of the `quoted-string` whose opening `"` is at
/// `start`, honouring `quoted-pair`s (`\` followed by any octet, §25.1); `None` when the
/// string is not terminated.
pub(crate) fn quoted_end(bytes: &[u8], start: usize) -> Option<usize> {
    let mut i = start + 1;
    while i < bytes.len() {
        match bytes[i] {
            b'\\' => i += 2,
            b'"' => return Some(i + 1),
            _ => i += 1,
        }
    }
    None
}

/// Splits a header value into its comma-separated elements (§7.3.1), ignoring commas inside
/// quoted strings and inside `<...>`. Elements are trimmed; empty elements are yielded (the
/// caller decides whether they are an error). An unterminated quote makes the rest of the
/// value a single element, which the element's own parser then rejects.
pub(crate) fn split_list(value: &str) -> ListItems<'_> {
    ListItems { rest: Some(value) }
}

pub(crate) struct ListItems<'a> {
    rest: Option<&'a str>,
}

impl<'a> Iterator for ListItems<'a> {
    type Item = &'a str;

    fn next(&mut self) -> Option<&'a str> {
        let s = self.rest?;
        let bytes = s.as_bytes();
        let mut in_angle = false;
        let mut i = 0;
        while i < bytes.len() {
            match bytes[i] {
                b'"' if !in_angle => match quoted_end(bytes, i) {
                    Some(end) => i = end,
                    None => break,
                },
                b'<' => {
                    in_angle = true;
                    i += 1;
                }
                b'>' => {
                    in_angle = false;
                    i += 1;
                }
                b',' if !in_angle => {
                    // `,` is ASCII, so both slices fall on character boundaries.
                    self.rest = Some(&s[i + 1..]);
                    return Some(trim_lws(&s[..i]));
                }
                _ => i += 1,
            }
        }
        self.rest = None;
        Some(trim_lws(s))
    }
}

/// Characters allowed in an unquoted header-parameter value: `token`, `host` (IPv4, IPv6
/// references with `[` `:` `]`) and, to be liberal in what we accept, any other visible
/// ASCII character that does not delimit something (`;` `,` `"` `<` `>`).
fn is_param_value_byte(b: u8) -> bool {
    b.is_ascii_graphic() && !matches!(b, b';' | b',' | b'"' | b'<' | b'>')
}

/// Parses `*( SEMI generic-param )` as it follows a `Via` sent-by or a `name-addr`
/// (§25.1: `SEMI = SWS ";" SWS`, `EQUAL = SWS "=" SWS`, `gen-value = token / host /
/// quoted-string`). Names and values are kept as received (quoted values keep their quotes).
pub(crate) fn parse_header_params(s: &str) -> Result<Params, &'static str> {
    let bytes = s.as_bytes();
    let mut params = Params::new();
    let mut i = skip_wsp(bytes, 0);
    while i < bytes.len() {
        if bytes[i] != b';' {
            return Err("expected ';' before a parameter");
        }
        i = skip_wsp(bytes, i + 1);
        let name_start = i;
        while i < bytes.len() && is_token_byte(bytes[i]) {
            i += 1;
        }
        if i == name_start {
            return Err("empty parameter name");
        }
        let name = &s[name_start..i];
        i = skip_wsp(bytes, i);
        let value = if i < bytes.len() && bytes[i] == b'=' {
            i = skip_wsp(bytes, i + 1);
            let value_start = i;
            if i < bytes.len() && bytes[i] == b'"' {
                i = quoted_end(bytes, i).ok_or("unterminated quoted string")?;
            } else {
                while i < bytes.len() && is_param_value_byte(bytes[i]) {
                    i += 1;
                }
                if i == value_start {
                    return Err("empty parameter value");
                }
            }
            Some(s[value_start..i].to_owned())
        } else {
            None
        };
        params.0.push((name.to_owned(), value));
        i = skip_wsp(bytes, i);
    }
    Ok(params)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn list_split_ignores_commas_in_quotes_and_angle_brackets() {
        let items: Vec<_> = split_list(r#""a, \"b\"" <sip:x@y?h=1,2>;p=1 , <sip:z>,,"#).collect();
        assert_eq!(
            items,
            vec![r#""a, \"b\"" <sip:x@y?h=1,2>;p=1"#, "<sip:z>", "", ""]
        );
    }

    #[test]
    fn list_split_keeps_an_unterminated_quote_as_one_element() {
        let items: Vec<_> = split_list(r#""Mr. J, User <sip:j@x>"#).collect();
        assert_eq!(items, vec![r#""Mr. J, User <sip:j@x>"#]);
    }

    #[test]
    fn header_params_allow_lws_around_separators() {
        let params = parse_header_params(" ;   tag    = 1918181833n ; lr ;q=\"a;b\"").unwrap();
        assert_eq!(params.value("tag"), Some("1918181833n"));
        assert_eq!(params.get("lr"), Some(None));
        assert_eq!(params.value("q"), Some("\"a;b\""));
    }

    #[test]
    fn header_params_reject_empty_names_and_values() {
        assert!(parse_header_params(";;").is_err());
        assert!(parse_header_params(";tag=").is_err());
        assert!(parse_header_params(";tag=a b").is_err());
        assert!(parse_header_params("junk").is_err());
        assert!(parse_header_params(";x=\"open").is_err());
    }

    #[test]
    fn quoted_strings_honour_quoted_pairs() {
        let s = br#""a\"b\\" rest"#;
        assert_eq!(quoted_end(s, 0), Some(8));
        assert_eq!(quoted_end(br#""abc\""#, 0), None);
    }
}
