//! Facts about ARM requests that both sides need: the simulator logs and throttles by them, the
//! client enforces read-only environments by them.

use http::Method;

/// Whether an ARM request can change anything. PUT, PATCH and DELETE do; a POST does unless it
/// only reads — Resource Graph queries and `list*` actions such as `listSecrets` or `listKeys`.
pub fn is_mutating(method: &Method, path: &str) -> bool {
    match *method {
        Method::PUT | Method::PATCH | Method::DELETE => true,
        Method::POST => {
            let lower = path.trim_end_matches('/').to_ascii_lowercase();
            let last = lower.rsplit('/').next().unwrap_or_default();
            !(lower.ends_with("/providers/microsoft.resourcegraph/resources")
                || last.starts_with("list"))
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reading_posts_are_not_mutations() {
        assert!(is_mutating(
            &Method::PUT,
            "/subscriptions/s/resourcegroups/rg"
        ));
        assert!(is_mutating(&Method::DELETE, "/x"));
        assert!(is_mutating(
            &Method::POST,
            "/x/containerApps/a/revisions/r/activate"
        ));
        assert!(!is_mutating(
            &Method::POST,
            "/x/containerApps/a/listSecrets"
        ));
        assert!(!is_mutating(
            &Method::POST,
            "/providers/Microsoft.ResourceGraph/resources"
        ));
        assert!(!is_mutating(&Method::GET, "/x"));
        assert!(!is_mutating(&Method::HEAD, "/x"));
    }
}
