//! The `WWW-Authenticate: DPoP` challenge (RFC 9449 §7.1).

use std::fmt;

use http::HeaderValue;

use crate::ErrorCode;
use crate::challenge::BearerChallenge;

/// A `WWW-Authenticate: DPoP` challenge: the parameters of a [`BearerChallenge`] (`error`,
/// `error_description`, `resource_metadata`, `scope`, sanitised the same way) under the `DPoP`
/// scheme, followed by `algs`, the accepted proof algorithms (RFC 9449 §7.1).
///
/// A layer's refusals carry it; an `error_body` hook reads it with
/// [`AuthRejection::dpop_challenge`](crate::AuthRejection::dpop_challenge).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DpopChallenge {
    params: BearerChallenge,
    algs: String,
}

impl DpopChallenge {
    /// The challenge with `params`' parameters and `algs` (JOSE names; anything but letters,
    /// digits and `-` is dropped).
    pub(crate) fn new<I, S>(params: BearerChallenge, algs: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        let algs: Vec<String> = algs
            .into_iter()
            .map(|a| {
                a.as_ref()
                    .chars()
                    .filter(|c| c.is_ascii_alphanumeric() || *c == '-')
                    .collect::<String>()
            })
            .filter(|a| !a.is_empty())
            .collect();
        Self {
            params,
            algs: algs.join(" "),
        }
    }

    /// The `error` code, if any.
    pub fn error_code(&self) -> Option<ErrorCode> {
        self.params.error_code()
    }

    /// The `algs` parameter as sent (space-separated).
    pub fn algs(&self) -> &str {
        &self.algs
    }

    /// The header value. It never fails: every value is sanitised to visible ASCII and spaces.
    pub fn to_header_value(&self) -> HeaderValue {
        HeaderValue::from_str(&self.to_string())
            .unwrap_or_else(|_| HeaderValue::from_static("DPoP"))
    }
}

impl fmt::Display for DpopChallenge {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let bearer = self.params.to_string();
        let params = bearer.strip_prefix("Bearer").unwrap_or("").trim_start();
        f.write_str("DPoP")?;
        if !params.is_empty() {
            write!(f, " {params}")?;
        }
        if !self.algs.is_empty() {
            let sep = if params.is_empty() { " " } else { ", " };
            write!(f, "{sep}algs=\"{}\"", self.algs)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ErrorCode;

    #[test]
    fn the_dpop_challenge_carries_the_bearer_parameters_then_algs() {
        let prm = "https://mcp.example.com/.well-known/oauth-protected-resource/mcp";
        let c = DpopChallenge::new(BearerChallenge::new(prm), ["ES256", "EdDSA"]);
        assert_eq!(
            c.to_string(),
            format!(r#"DPoP resource_metadata="{prm}", algs="ES256 EdDSA""#)
        );
        let c = DpopChallenge::new(
            BearerChallenge::new(prm)
                .error(ErrorCode::InvalidDpopProof)
                .error_description("The DPoP proof's htu does not match"),
            ["ES256", "bad alg!"],
        );
        assert!(
            c.to_string()
                .starts_with(r#"DPoP error="invalid_dpop_proof", error_description="#)
        );
        assert_eq!(c.algs(), "ES256 badalg");
    }
}
