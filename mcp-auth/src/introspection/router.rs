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
}

impl<J, I> JwtOrIntrospection<J, I> {
    /// Combines a JWT verifier and an introspection verifier.
    pub fn new(jwt: J, introspection: I) -> Self {
        Self { jwt, introspection }
    }
}

impl<J: TokenVerifier, I: TokenVerifier> TokenVerifier for JwtOrIntrospection<J, I> {
    async fn verify(&self, token: &str) -> Result<AuthInfo, VerifyError> {
        if crate::jws::is_jwt_shaped(token) {
            tracing::trace!("routing a JWT-shaped token to the JWT verifier");
            self.jwt.verify(token).await
        } else {
            tracing::trace!("routing an opaque token to introspection");
            self.introspection.verify(token).await
        }
    }

    async fn verify_dpop(&self, token: &str) -> Result<AuthInfo, VerifyError> {
        if crate::jws::is_jwt_shaped(token) {
            self.jwt.verify_dpop(token).await
        } else {
            self.introspection.verify_dpop(token).await
        }
    }

    fn verify_cached(&self, token: &str) -> Option<Result<AuthInfo, VerifyError>> {
        if crate::jws::is_jwt_shaped(token) {
            self.jwt.verify_cached(token)
        } else {
            self.introspection.verify_cached(token)
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
