//! Key Vault's refusals, in its error shape `{"error":{"code","message","innererror"?}}` with the
//! codes and messages the real service uses.

use http::StatusCode;
use serde_json::json;

use crate::sim::http::SimResponse;

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum KvError {
    #[error("A secret with (name/id) {0} was not found in this key vault. If you recently deleted this secret you may be able to recover it using the correct recovery command. For help resolving this issue, please see https://go.microsoft.com/fwlink/?linkid=2125182")]
    SecretNotFound(String),
    #[error("Deleted Secret not found: {0}")]
    DeletedSecretNotFound(String),
    #[error("Operation get is not allowed on a disabled secret.")]
    Disabled,
    #[error("Secret {0} is currently in a deleted but recoverable state, and its name cannot be reused; in this state, the secret can only be recovered or purged.")]
    DeletedButRecoverable(String),
    #[error("Operation \"purge\" is not allowed because purge protection is enabled for this vault. Key Vault service will automatically purge it after the retention period has passed.")]
    PurgeProtected,
    #[error("The request URI contains an invalid name: {0}")]
    InvalidName(String),
    #[error("{0}")]
    BadParameter(String),
    #[error("The specified version ({0}) is not recognized. Consider using the latest supported version ({latest}).", latest = super::LATEST_API_VERSION)]
    UnsupportedApiVersion(String),
    #[error("The api-version query parameter is missing.")]
    MissingApiVersion,
    #[error("The HTTP method is not allowed on this path.")]
    MethodNotAllowed,
    #[error("The path {0} is not an operation of the Key Vault data plane.")]
    UnknownPath(String),
    #[error("The simulated Key Vault does not implement {0}; it serves secrets.")]
    NotImplemented(&'static str),
}

impl KvError {
    /// Status, code and (for some) the inner error code Key Vault sends.
    fn parts(&self) -> (StatusCode, &'static str, Option<&'static str>) {
        use KvError::*;
        match self {
            SecretNotFound(_) | DeletedSecretNotFound(_) => {
                (StatusCode::NOT_FOUND, "SecretNotFound", None)
            }
            Disabled => (StatusCode::FORBIDDEN, "Forbidden", Some("SecretDisabled")),
            DeletedButRecoverable(_) => (
                StatusCode::CONFLICT,
                "Conflict",
                Some("ObjectIsDeletedButRecoverable"),
            ),
            PurgeProtected => (
                StatusCode::FORBIDDEN,
                "Forbidden",
                Some("PurgeProtectionEnabled"),
            ),
            InvalidName(_) | BadParameter(_) | UnsupportedApiVersion(_) | MissingApiVersion => {
                (StatusCode::BAD_REQUEST, "BadParameter", None)
            }
            MethodNotAllowed => (StatusCode::METHOD_NOT_ALLOWED, "MethodNotAllowed", None),
            UnknownPath(_) => (StatusCode::NOT_FOUND, "NotFound", None),
            NotImplemented(_) => (StatusCode::NOT_IMPLEMENTED, "NotImplemented", None),
        }
    }

    pub fn response(&self) -> SimResponse {
        let (status, code, inner) = self.parts();
        let mut error = json!({ "code": code, "message": self.to_string() });
        if let Some(inner) = inner {
            error["innererror"] = json!({ "code": inner });
        }
        SimResponse::json(status, json!({ "error": error }))
    }
}
