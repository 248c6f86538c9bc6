//! [`JwtOrIntrospection`]: JWTs are verified locally, everything else is introspected.

use crate::auth_info::AuthInfo;
use crate::error::VerifyError;
use crate::verify::TokenVerifier;

/// Routes each token by its shape: a JWT-shaped token (three base64url segments whose first
/// segment decodes to a JSON object) goes to the JWT verifier `J`, everything else (opaque
/// strings, JWEs, which the resource server cannot decrypt) to the introspection verifier `I`.
///
/// Routing costs one base64 decode of the header and never trusts the token: a JWT-shaped
/// token must still pass every check of `J` (signature, issuer, audience...), and there is no
/// fallback from one verifier to the other, so a forged JWT cannot be "rescued" by
/// introspection nor an opaque token by the JWT path.
///
/// ```
/// use mcp_auth::introspection::{ClientAuth, IntrospectionVerifier, JwtOrIntrospection};
/// use mcp_auth::verify::JwtVerifier;
///
/// let jwt = JwtVerifier::builder()
///     .resource("https://mcp.example.com/mcp")
///     .issuer("https://auth.example.com", "https://auth.example.com/jwks")
///     .build()?;
/// let introspection = IntrospectionVerifier::builder()
///     .issuer("https://auth.example.com")
///     .endpoint("https://auth.example.com/oauth2/introspect")
///     .resource("https://mcp.example.com/mcp")
///     .client_auth(ClientAuth::basic("mcp-server", "s3cret"))
///     .build()?;
/// let verifier = JwtOrIntrospection::new(jwt, introspection);
/// # let _ = verifier;
/// # Ok::<(), mcp_auth::ConfigError>(())
/// ```
#[derive(Debug, Clone)]
pub struct JwtOrIntrospection<J, I> {
    jwt: J,
    introspection: I,
    jwts: JwtRoute,
}

/// Who decides a JWT-shaped token when the authorization server offers both local verification
/// (its keys) and introspection. Opaque tokens are always introspected.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum JwtRoute {
    /// Verified locally against the issuer's keys, no request (the default).
    #[default]
    Local,
    /// Introspected like opaque tokens: a token revoked at the authorization server is refused
    /// once its cached answer ends, at the cost of one request per token per cache period.
    Introspected,
    /// Verified locally, then introspected: both must accept it (the local facts are kept).
    Both,
}

impl<J, I> JwtOrIntrospection<J, I> {
    /// Combines a JWT verifier and an introspection verifier.
    pub fn new(jwt: J, introspection: I) -> Self {
        Self {
            jwt,
            introspection,
            jwts: JwtRoute::Local,
        }
    }

    /// Who decides JWT-shaped tokens (default [`JwtRoute::Local`]).
    pub fn jwts(mut self, route: JwtRoute) -> Self {
        self.jwts = route;
        self
    }
}

impl<J: TokenVerifier, I: TokenVerifier> TokenVerifier for JwtOrIntrospection<J, I> {
    async fn verify(&self, token: &str) -> Result<AuthInfo, VerifyError> {
        if !crate::jws::is_jwt_shaped(token) {
            tracing::trace!("routing an opaque token to introspection");
            return self.introspection.verify(token).await;
        }
        match self.jwts {
            JwtRoute::Local => self.jwt.verify(token).await,
            JwtRoute::Introspected => self.introspection.verify(token).await,
            JwtRoute::Both => {
                let info = self.jwt.verify(token).await?;
                self.introspection.verify(token).await?;
                Ok(info)
            }
        }
    }

    async fn verify_dpop(&self, token: &str) -> Result<AuthInfo, VerifyError> {
        if !crate::jws::is_jwt_shaped(token) {
            return self.introspection.verify_dpop(token).await;
        }
        match self.jwts {
            JwtRoute::Local => self.jwt.verify_dpop(token).await,
            JwtRoute::Introspected => self.introspection.verify_dpop(token).await,
            JwtRoute::Both => {
                let info = self.jwt.verify_dpop(token).await?;
                self.introspection.verify_dpop(token).await?;
                Ok(info)
            }
        }
    }

    fn verify_cached(&self, token: &str) -> Option<Result<AuthInfo, VerifyError>> {
        if !crate::jws::is_jwt_shaped(token) {
            return self.introspection.verify_cached(token);
        }
        match self.jwts {
            JwtRoute::Local => self.jwt.verify_cached(token),
            JwtRoute::Introspected => self.introspection.verify_cached(token),
            // Known only when both know it: a refusal from either, or both accepting.
            JwtRoute::Both => match (
                self.jwt.verify_cached(token)?,
                self.introspection.verify_cached(token),
            ) {
                (Err(refused), _) => Some(Err(refused)),
                (Ok(info), Some(Ok(_))) => Some(Ok(info)),
                (Ok(_), Some(Err(refused))) => Some(Err(refused)),
                (Ok(_), None) => None,
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::auth_info::TokenKind;

    /// Answers with an `AuthInfo` whose issuer names the verifier, so routing is visible.
    struct Named(&'static str);

    impl TokenVerifier for Named {
        async fn verify(&self, _token: &str) -> Result<AuthInfo, VerifyError> {
            Ok(AuthInfo::from(crate::auth_info::TokenFacts {
                issuer: self.0.into(),
                subject: None,
                client_id: None,
                audiences: Vec::new(),
                scopes: Vec::new(),
                expires_at: None,
                issued_at: None,
                token_id: None,
                claims: Default::default(),
                kind: TokenKind::Opaque,
            }))
        }
    }

    type Router = JwtOrIntrospection<Named, Named>;

    async fn route(token: &str) -> String {
        let router = Router::new(Named("jwt"), Named("introspection"));
        router.verify(token).await.unwrap().issuer().to_owned()
    }

    #[tokio::test]
    async fn jwt_shaped_tokens_go_to_the_jwt_verifier() {
        // {"alg":"RS256","typ":"at+jwt"}
        assert_eq!(
            route("eyJhbGciOiJSUzI1NiIsInR5cCI6ImF0K2p3dCJ9.e30.c2ln").await,
            "jwt"
        );
    }

    /// Refuses everything: a verifier whose answer must not be the only one.
    struct Refuses;

    impl TokenVerifier for Refuses {
        async fn verify(&self, _token: &str) -> Result<AuthInfo, VerifyError> {
            Err(VerifyError::Inactive)
        }
    }

    #[tokio::test]
    async fn a_jwt_can_be_introspected_or_need_both_answers() {
        let jwt = "eyJhbGciOiJSUzI1NiIsInR5cCI6ImF0K2p3dCJ9.e30.c2ln";
        let introspected =
            Router::new(Named("jwt"), Named("introspection")).jwts(JwtRoute::Introspected);
        assert_eq!(
            introspected.verify(jwt).await.unwrap().issuer(),
            "introspection"
        );
        let both = Router::new(Named("jwt"), Named("introspection")).jwts(JwtRoute::Both);
        assert_eq!(
            both.verify(jwt).await.unwrap().issuer(),
            "jwt",
            "the local facts"
        );
        let revoked = JwtOrIntrospection::new(Named("jwt"), Refuses).jwts(JwtRoute::Both);
        assert_eq!(
            revoked.verify(jwt).await.unwrap_err(),
            VerifyError::Inactive
        );
        assert_eq!(
            revoked.verify("opaque").await.unwrap_err(),
            VerifyError::Inactive,
            "opaque tokens are introspected whatever the route"
        );
    }

    #[tokio::test]
    async fn everything_else_goes_to_introspection() {
        for token in [
            "2YotnFZFEjr1zCsicMWpAA",
            "ory_at_abc.def",
            "abc.def.ghi",                      // header is not JSON
            "WyJhIl0.e30.c2ln",                 // header is JSON but not an object
            "eyJhbGciOiJSUzI1NiJ9..c2ln",       // empty payload
            "eyJhbGciOiJSUzI1NiJ9.e30.",        // empty signature
            "eyJhbGciOiJSUzI1NiJ9.e30.c2ln.",   // four segments
            "eyJhbGciOiJSU0EtT0FFUCJ9.a.b.c.d", // JWE: five segments
            "eyJhbGciOiJSUzI1NiJ9=.e30.c2ln",   // padding is not base64url
            "",
        ] {
            assert_eq!(route(token).await, "introspection", "{token}");
        }
    }
}
