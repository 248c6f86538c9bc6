//! What the server remembers between requests: consent requests waiting for the user,
//! authorization codes and refresh tokens. Values are random (aws-lc-rs) and never logged.

use std::collections::HashMap;
use std::sync::{Mutex, MutexGuard, PoisonError};

use super::keys::random_b64;

/// Authorization codes live this long, by the server's clock (seconds).
pub(crate) const CODE_LIFETIME: u64 = 60;
/// A consent page must be answered within this time (seconds).
pub(crate) const CONSENT_LIFETIME: u64 = 600;
/// Spent codes are remembered this long, to detect replays (seconds).
const SPENT_MEMORY: u64 = 600;

/// An authorization the user gave (or is asked to give): the checked authorization request.
#[derive(Debug, Clone)]
pub(crate) struct Authorization {
    pub(crate) client_id: String,
    /// The redirect URI the response goes to.
    pub(crate) redirect_uri: String,
    /// Whether the request named `redirect_uri` (then the token request must repeat it).
    pub(crate) redirect_uri_sent: bool,
    /// The S256 `code_challenge`.
    pub(crate) code_challenge: String,
    pub(crate) scopes: Vec<String>,
    pub(crate) resources: Vec<String>,
    pub(crate) state: Option<String>,
    pub(crate) subject: String,
}

struct Pending {
    authorization: Authorization,
    csrf: String,
    created: u64,
}

enum Code {
    Fresh {
        authorization: Authorization,
        issued_at: u64,
    },
    Spent {
        issued_at: u64,
        /// The access token issued for the code, revoked on replay.
        access_token: Option<String>,
        /// The refresh token family issued for the code, revoked on replay.
        family: Option<String>,
    },
}

/// The outcome of presenting an authorization code.
pub(crate) enum Redeemed {
    /// First use within the lifetime: the code is now spent.
    Fresh(Authorization),
    /// Not a code of this server.
    Unknown,
    /// Issued more than [`CODE_LIFETIME`] seconds ago.
    Expired,
    /// Used before. What it issued is returned (and forgotten) so it can be revoked.
    Replayed {
        access_token: Option<String>,
        family: Option<String>,
    },
}

/// Why a consent form was refused.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum ConsentError {
    /// No pending request has this id (never, already answered, or expired).
    Unknown,
    /// The CSRF token does not belong to the request.
    BadCsrf,
}

/// What a refresh token stands for.
#[derive(Debug, Clone)]
pub(crate) struct RefreshGrant {
    pub(crate) client_id: String,
    pub(crate) subject: String,
    /// The scopes of the original authorization (a refresh may narrow them, never widen).
    pub(crate) scopes: Vec<String>,
    /// The resources of the original authorization.
    pub(crate) resources: Vec<String>,
    /// Every refresh token descending from one code shares a family.
    pub(crate) family: String,
}

/// The stores, each behind its own lock.
#[derive(Default)]
pub(crate) struct Grants {
    pending: Mutex<HashMap<String, Pending>>,
    codes: Mutex<HashMap<String, Code>>,
    refresh: Mutex<HashMap<String, RefreshGrant>>,
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Compares secrets in constant time.
fn same(a: &str, b: &str) -> bool {
    aws_lc_rs::constant_time::verify_slices_are_equal(a.as_bytes(), b.as_bytes()).is_ok()
}

impl Grants {
    /// Keeps `authorization` until the user answers the consent page; returns the request id
    /// and the CSRF token the form must send back.
    pub(crate) fn await_consent(&self, authorization: Authorization, now: u64) -> (String, String) {
        let id = random_b64(16);
        let csrf = random_b64(32);
        let mut pending = lock(&self.pending);
        pending.retain(|_, p| now < p.created.saturating_add(CONSENT_LIFETIME));
        pending.insert(
            id.clone(),
            Pending {
                authorization,
                csrf: csrf.clone(),
                created: now,
            },
        );
        (id, csrf)
    }

    /// The pending authorization of a consent form, removed when the CSRF token matches.
    pub(crate) fn take_consent(
        &self,
        request_id: &str,
        csrf: &str,
        now: u64,
    ) -> Result<Authorization, ConsentError> {
        let mut pending = lock(&self.pending);
        let Some(request) = pending.get(request_id) else {
            return Err(ConsentError::Unknown);
        };
        if now >= request.created.saturating_add(CONSENT_LIFETIME) {
            pending.remove(request_id);
            return Err(ConsentError::Unknown);
        }
        if !same(&request.csrf, csrf) {
            return Err(ConsentError::BadCsrf);
        }
        pending
            .remove(request_id)
            .map(|p| p.authorization)
            .ok_or(ConsentError::Unknown)
    }

    /// A new single-use authorization code for `authorization`.
    pub(crate) fn issue_code(&self, authorization: Authorization, now: u64) -> String {
        let code = random_b64(32);
        let mut codes = lock(&self.codes);
        codes.retain(|_, c| match c {
            Code::Fresh { issued_at, .. } => now < issued_at.saturating_add(CODE_LIFETIME),
            Code::Spent { issued_at, .. } => now < issued_at.saturating_add(SPENT_MEMORY),
        });
        codes.insert(
            code.clone(),
            Code::Fresh {
                authorization,
                issued_at: now,
            },
        );
        code
    }

    /// Presents `code`: the first use within [`CODE_LIFETIME`] gets the authorization and
    /// spends the code, whatever the rest of the token request turns out to be.
    pub(crate) fn redeem_code(&self, code: &str, now: u64) -> Redeemed {
        let mut codes = lock(&self.codes);
        let Some(entry) = codes.get_mut(code) else {
            return Redeemed::Unknown;
        };
        match entry {
            Code::Spent {
                access_token,
                family,
                ..
            } => Redeemed::Replayed {
                access_token: access_token.take(),
                family: family.take(),
            },
            Code::Fresh { issued_at, .. } => {
                let issued_at = *issued_at;
                let spent = Code::Spent {
                    issued_at,
                    access_token: None,
                    family: None,
                };
                match std::mem::replace(entry, spent) {
                    Code::Fresh { authorization, .. }
                        if now < issued_at.saturating_add(CODE_LIFETIME) =>
                    {
                        Redeemed::Fresh(authorization)
                    }
                    _ => Redeemed::Expired,
                }
            }
        }
    }

    /// Remembers what a spent code issued, to revoke it if the code is replayed.
    pub(crate) fn record_issued(&self, code: &str, access: String, family: Option<String>) {
        if let Some(Code::Spent {
            access_token,
            family: slot,
            ..
        }) = lock(&self.codes).get_mut(code)
        {
            *access_token = Some(access);
            *slot = family;
        }
    }

    /// Stores a refresh grant under a new random refresh token.
    pub(crate) fn issue_refresh(&self, grant: RefreshGrant) -> String {
        let token = random_b64(32);
        lock(&self.refresh).insert(token.clone(), grant);
        token
    }

    /// The grant of a refresh token, left in place.
    pub(crate) fn refresh_grant(&self, token: &str) -> Option<RefreshGrant> {
        lock(&self.refresh).get(token).cloned()
    }

    /// Removes a refresh token (rotation); `None` when it is no longer valid.
    pub(crate) fn take_refresh(&self, token: &str) -> Option<RefreshGrant> {
        lock(&self.refresh).remove(token)
    }

    /// Revokes every refresh token of a family.
    pub(crate) fn revoke_family(&self, family: &str) {
        lock(&self.refresh).retain(|_, grant| grant.family != family);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn authorization() -> Authorization {
        Authorization {
            client_id: "c".into(),
            redirect_uri: "http://127.0.0.1/cb".into(),
            redirect_uri_sent: true,
            code_challenge: "x".into(),
            scopes: vec![],
            resources: vec![],
            state: None,
            subject: "user-1".into(),
        }
    }

    #[test]
    fn codes_are_single_use_and_expire_after_60_seconds() {
        let grants = Grants::default();
        let code = grants.issue_code(authorization(), 1000);
        assert!(matches!(
            grants.redeem_code(&code, 1059),
            Redeemed::Fresh(_)
        ));
        assert!(matches!(
            grants.redeem_code(&code, 1059),
            Redeemed::Replayed { .. }
        ));
        let late = grants.issue_code(authorization(), 1000);
        assert!(matches!(grants.redeem_code(&late, 1060), Redeemed::Expired));
        assert!(matches!(
            grants.redeem_code("nope", 1000),
            Redeemed::Unknown
        ));
    }

    #[test]
    fn replay_hands_back_what_was_issued_once() {
        let grants = Grants::default();
        let code = grants.issue_code(authorization(), 0);
        assert!(matches!(grants.redeem_code(&code, 1), Redeemed::Fresh(_)));
        grants.record_issued(&code, "at".into(), Some("fam".into()));
        match grants.redeem_code(&code, 2) {
            Redeemed::Replayed {
                access_token,
                family,
            } => {
                assert_eq!(access_token.as_deref(), Some("at"));
                assert_eq!(family.as_deref(), Some("fam"));
            }
            _ => panic!("expected a replay"),
        }
        assert!(matches!(
            grants.redeem_code(&code, 3),
            Redeemed::Replayed {
                access_token: None,
                family: None
            }
        ));
    }

    #[test]
    fn consent_needs_the_matching_csrf_token_once() {
        let grants = Grants::default();
        let (id, csrf) = grants.await_consent(authorization(), 0);
        assert_eq!(
            grants.take_consent(&id, "wrong", 1).unwrap_err(),
            ConsentError::BadCsrf
        );
        assert!(grants.take_consent(&id, &csrf, 1).is_ok());
        assert_eq!(
            grants.take_consent(&id, &csrf, 1).unwrap_err(),
            ConsentError::Unknown
        );
        let (id, csrf) = grants.await_consent(authorization(), 0);
        assert_eq!(
            grants
                .take_consent(&id, &csrf, CONSENT_LIFETIME)
                .unwrap_err(),
            ConsentError::Unknown
        );
    }

    #[test]
    fn refresh_families_are_revoked_together() {
        let grants = Grants::default();
        let grant = RefreshGrant {
            client_id: "c".into(),
            subject: "u".into(),
            scopes: vec![],
            resources: vec![],
            family: "f".into(),
        };
        let a = grants.issue_refresh(grant.clone());
        let b = grants.issue_refresh(grant);
        assert!(grants.refresh_grant(&a).is_some());
        grants.revoke_family("f");
        assert!(grants.take_refresh(&a).is_none());
        assert!(grants.take_refresh(&b).is_none());
    }
}
