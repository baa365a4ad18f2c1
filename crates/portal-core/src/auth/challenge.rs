//! Claims challenges (continuous access evaluation): Graph answers 401 with
//! `WWW-Authenticate: Bearer ..., error="insufficient_claims", claims="<base64 JSON>"`; the claims
//! go, decoded, into the next authorize or token request.

/// A parsed claims challenge.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ClaimsChallenge {
    /// The decoded claims JSON to send back as the `claims` parameter.
    pub claims: String,
}

/// The `key="value"` parameters of a `Bearer` challenge (quoted strings may hold commas).
fn bearer_params(header: &str) -> Option<Vec<(String, String)>> {
    let rest = header.trim().strip_prefix("Bearer")?.trim_start();
    let mut params = Vec::new();
    let mut chars = rest.chars().peekable();
    loop {
        while chars.peek().is_some_and(|c| *c == ',' || c.is_whitespace()) {
            chars.next();
        }
        let key: String =
            std::iter::from_fn(|| chars.next_if(|c| *c != '=' && *c != ',')).collect();
        if key.trim().is_empty() {
            break;
        }
        if chars.next() != Some('=') {
            return None;
        }
        let value = if chars.peek() == Some(&'"') {
            chars.next();
            let mut value = String::new();
            loop {
                match chars.next()? {
                    '\\' => value.push(chars.next()?),
                    '"' => break,
                    c => value.push(c),
                }
            }
            value
        } else {
            std::iter::from_fn(|| chars.next_if(|c| *c != ','))
                .collect::<String>()
                .trim()
                .to_string()
        };
        params.push((key.trim().to_ascii_lowercase(), value));
    }
    Some(params)
}

/// Standard base64 (with or without padding) decoding; also accepts the URL-safe alphabet.
fn base64_decode(text: &str) -> Option<Vec<u8>> {
    let mut bits = 0u32;
    let mut count = 0;
    let mut out = Vec::new();
    for c in text.trim().trim_end_matches('=').chars() {
        let value = match c {
            'A'..='Z' => c as u32 - 'A' as u32,
            'a'..='z' => c as u32 - 'a' as u32 + 26,
            '0'..='9' => c as u32 - '0' as u32 + 52,
            '+' | '-' => 62,
            '/' | '_' => 63,
            _ => return None,
        };
        bits = (bits << 6) | value;
        count += 6;
        if count >= 8 {
            count -= 8;
            out.push((bits >> count) as u8);
            bits &= (1 << count) - 1;
        }
    }
    Some(out)
}

/// Parses a `WWW-Authenticate` header; `Some` only for an `insufficient_claims` challenge whose
/// claims decode to JSON.
pub fn parse_claims_challenge(header: &str) -> Option<ClaimsChallenge> {
    let params = bearer_params(header)?;
    let get = |k: &str| {
        params
            .iter()
            .find(|(key, _)| key == k)
            .map(|(_, v)| v.as_str())
    };
    if get("error") != Some("insufficient_claims") {
        return None;
    }
    let decoded = String::from_utf8(base64_decode(get("claims")?)?).ok()?;
    serde_json::from_str::<serde_json::Value>(&decoded).ok()?;
    Some(ClaimsChallenge { claims: decoded })
}

/// The `claims` request parameter: the challenge's claims merged with the client capabilities
/// (`{"access_token":{"xms_cc":{"values":["cp1"]}}}`), as MSAL sends them.
pub fn claims_parameter(
    challenge: Option<&ClaimsChallenge>,
    capabilities: &[String],
) -> Option<String> {
    let mut value = challenge
        .and_then(|c| serde_json::from_str::<serde_json::Value>(&c.claims).ok())
        .unwrap_or_else(|| serde_json::json!({}));
    if !capabilities.is_empty() {
        if !value.is_object() {
            value = serde_json::json!({});
        }
        // Indexing into a non-object JSON value panics: a challenge whose `access_token` member
        // is a string, a number or an array gets an object in its place.
        if let Some(object) = value.as_object_mut() {
            let access_token = object
                .entry("access_token")
                .or_insert_with(|| serde_json::json!({}));
            if !access_token.is_object() {
                *access_token = serde_json::json!({});
            }
            if let Some(access_token) = access_token.as_object_mut() {
                access_token.insert(
                    "xms_cc".to_string(),
                    serde_json::json!({ "values": capabilities }),
                );
            }
        }
    }
    (value.as_object().is_some_and(|o| !o.is_empty())).then(|| value.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    const CLAIMS: &str = r#"{"access_token":{"nbf":{"essential":true,"value":"1700000000"}}}"#;

    fn encoded() -> String {
        // base64 of CLAIMS computed independently (python: base64.b64encode).
        "eyJhY2Nlc3NfdG9rZW4iOnsibmJmIjp7ImVzc2VudGlhbCI6dHJ1ZSwidmFsdWUiOiIxNzAwMDAwMDAwIn19fQ=="
            .to_string()
    }

    #[test]
    fn parses_graphs_challenge() {
        let header = format!(
            "Bearer realm=\"\", authorization_uri=\"https://login.microsoftonline.com/common/oauth2/authorize\", client_id=\"00000003-0000-0000-c000-000000000000\", error=\"insufficient_claims\", claims=\"{}\"",
            encoded()
        );
        assert_eq!(
            parse_claims_challenge(&header),
            Some(ClaimsChallenge {
                claims: CLAIMS.to_string()
            })
        );
    }

    #[test]
    fn other_challenges_are_not_claims_challenges() {
        assert_eq!(
            parse_claims_challenge("Bearer error=\"invalid_token\""),
            None
        );
        assert_eq!(parse_claims_challenge("Basic realm=\"x\""), None);
        assert_eq!(
            parse_claims_challenge("Bearer error=\"insufficient_claims\", claims=\"!!!\""),
            None
        );
        assert_eq!(
            parse_claims_challenge("Bearer error=\"insufficient_claims\", claims=\"aGVsbG8=\""),
            None,
            "not JSON"
        );
    }

    #[test]
    fn claims_parameter_merges_capabilities() {
        let challenge = ClaimsChallenge {
            claims: CLAIMS.to_string(),
        };
        let merged: serde_json::Value =
            serde_json::from_str(&claims_parameter(Some(&challenge), &["cp1".into()]).unwrap())
                .unwrap();
        assert_eq!(merged["access_token"]["xms_cc"]["values"][0], "cp1");
        assert_eq!(merged["access_token"]["nbf"]["essential"], true);
        assert_eq!(claims_parameter(None, &[]), None);
        assert_eq!(
            claims_parameter(None, &["cp1".into()]).unwrap(),
            r#"{"access_token":{"xms_cc":{"values":["cp1"]}}}"#
        );
    }

    #[test]
    fn a_challenge_whose_access_token_is_not_an_object_never_panics() {
        for claims in [
            r#"{"access_token":"x"}"#,
            r#"{"access_token":42}"#,
            r#"{"access_token":[1,2]}"#,
            r#"{"access_token":null}"#,
            r#"{"access_token":true,"id_token":{"auth_time":{"essential":true}}}"#,
            r#""just a string""#,
            r#"[1,2,3]"#,
        ] {
            let challenge = ClaimsChallenge {
                claims: claims.to_string(),
            };
            let merged: serde_json::Value =
                serde_json::from_str(&claims_parameter(Some(&challenge), &["cp1".into()]).unwrap())
                    .unwrap();
            assert_eq!(
                merged["access_token"]["xms_cc"]["values"][0], "cp1",
                "{claims}"
            );
            // Without capabilities, the claims go back as they came (or not at all).
            let _ = claims_parameter(Some(&challenge), &[]);
        }
        let kept = ClaimsChallenge {
            claims: r#"{"access_token":"x","id_token":{"acr":{"essential":true}}}"#.into(),
        };
        let merged: serde_json::Value =
            serde_json::from_str(&claims_parameter(Some(&kept), &["cp1".into()]).unwrap()).unwrap();
        assert_eq!(
            merged["id_token"]["acr"]["essential"], true,
            "other members are kept"
        );
    }
}
