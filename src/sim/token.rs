//! JWT-shaped access tokens. Real Entra signs with RS256; no Azure client verifies the signature,
//! but the simulator does (HS256 with a key made at start) so forged or altered tokens are refused.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use sha2::Sha256;

type HmacSha256 = Hmac<Sha256>;

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Claims {
    pub aud: String,
    pub iss: String,
    pub iat: i64,
    pub nbf: i64,
    pub exp: i64,
    pub tid: String,
    pub oid: String,
    pub sub: String,
    pub appid: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub idtyp: Option<String>,
    #[serde(default)]
    pub ver: String,
}

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum TokenError {
    #[error("the access token is not a JWT")]
    Malformed,
    #[error("the access token signature is invalid")]
    BadSignature,
    #[error("the access token expired at {exp}")]
    Expired { exp: i64 },
    #[error("the access token is not valid before {nbf}")]
    NotYetValid { nbf: i64 },
}

pub struct TokenSigner {
    key: Vec<u8>,
}

impl TokenSigner {
    pub fn new(key: Vec<u8>) -> Self {
        Self { key }
    }

    pub fn random() -> Self {
        use rand::RngCore;
        let mut key = vec![0u8; 32];
        rand::thread_rng().fill_bytes(&mut key);
        Self::new(key)
    }

    pub fn sign(&self, claims: &Claims) -> String {
        let header = URL_SAFE_NO_PAD.encode(br#"{"typ":"JWT","alg":"HS256","kid":"azdeck-sim"}"#);
        // Serialising a plain struct of strings and integers cannot fail.
        let payload = URL_SAFE_NO_PAD.encode(serde_json::to_vec(claims).unwrap_or_default());
        let signing_input = format!("{header}.{payload}");
        let signature = URL_SAFE_NO_PAD.encode(self.mac(signing_input.as_bytes()));
        format!("{signing_input}.{signature}")
    }

    /// Verifies signature and time window against `now` (Unix seconds), with no clock skew: the
    /// simulator and its clients share one clock.
    pub fn verify(&self, token: &str, now: i64) -> Result<Claims, TokenError> {
        let mut parts = token.split('.');
        let (Some(header), Some(payload), Some(signature), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(TokenError::Malformed);
        };
        let signature = URL_SAFE_NO_PAD
            .decode(signature)
            .map_err(|_| TokenError::Malformed)?;
        let mut mac = HmacSha256::new_from_slice(&self.key).map_err(|_| TokenError::Malformed)?;
        mac.update(header.as_bytes());
        mac.update(b".");
        mac.update(payload.as_bytes());
        mac.verify_slice(&signature)
            .map_err(|_| TokenError::BadSignature)?;
        let payload = URL_SAFE_NO_PAD
            .decode(payload)
            .map_err(|_| TokenError::Malformed)?;
        let claims: Claims = serde_json::from_slice(&payload).map_err(|_| TokenError::Malformed)?;
        if now >= claims.exp {
            return Err(TokenError::Expired { exp: claims.exp });
        }
        if now < claims.nbf {
            return Err(TokenError::NotYetValid { nbf: claims.nbf });
        }
        Ok(claims)
    }

    fn mac(&self, data: &[u8]) -> Vec<u8> {
        // HMAC accepts keys of any length, so this cannot fail.
        let mut mac = HmacSha256::new_from_slice(&self.key).unwrap_or_else(|_| unreachable!());
        mac.update(data);
        mac.finalize().into_bytes().to_vec()
    }
}

/// Decodes the claims of a JWT without verifying it: what Entra does with a workload identity's
/// federated assertion, whose issuer (a Kubernetes cluster, a CI system) we do not hold keys for.
pub fn peek_claims(token: &str) -> Option<serde_json::Value> {
    let payload = token.split('.').nth(1)?;
    let bytes = URL_SAFE_NO_PAD.decode(payload.trim_end_matches('=')).ok()?;
    serde_json::from_slice(&bytes).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn claims(nbf: i64, exp: i64) -> Claims {
        Claims {
            aud: "https://management.azdeck.localhost:8443/".into(),
            iss: "https://sts.windows.net/t/".into(),
            iat: nbf,
            nbf,
            exp,
            tid: "t".into(),
            oid: "o".into(),
            sub: "o".into(),
            appid: "a".into(),
            idtyp: Some("app".into()),
            ver: "1.0".into(),
        }
    }

    #[test]
    fn round_trips_and_checks_expiry() {
        let signer = TokenSigner::random();
        let token = signer.sign(&claims(100, 200));
        assert_eq!(signer.verify(&token, 150).map(|c| c.exp), Ok(200));
        assert_eq!(
            signer.verify(&token, 200),
            Err(TokenError::Expired { exp: 200 })
        );
        assert_eq!(
            signer.verify(&token, 99),
            Err(TokenError::NotYetValid { nbf: 100 })
        );
    }

    #[test]
    fn rejects_forgery_and_garbage() {
        let signer = TokenSigner::random();
        let other = TokenSigner::random();
        let forged = other.sign(&claims(0, i64::MAX));
        assert_eq!(signer.verify(&forged, 1), Err(TokenError::BadSignature));
        assert_eq!(signer.verify("abc", 1), Err(TokenError::Malformed));
        assert_eq!(signer.verify("a.b.c.d", 1), Err(TokenError::Malformed));
        assert!(peek_claims(&forged).is_some());
        assert!(peek_claims("nope").is_none());
    }
}
