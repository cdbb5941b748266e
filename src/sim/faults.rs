//! Fault injection: rules that make matching requests fail the way Azure does under stress —
//! throttling, server errors, latency, dropped connections, failing long-running operations and
//! short-lived tokens. Set from the world file or at run time through `/_sim/faults`.

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct FaultRule {
    /// Assigned by the simulator when absent.
    #[serde(default)]
    pub id: String,
    #[serde(default, rename = "match")]
    pub matcher: FaultMatch,
    pub action: FaultAction,
    /// Fire at most this many times (then the rule is spent); unlimited when absent.
    #[serde(default)]
    pub times: Option<u64>,
    /// Let this many matching requests through before the rule starts firing.
    #[serde(default)]
    pub skip: u64,
    /// Fire on this fraction of matching requests (0..=1), decided by a seeded generator so a
    /// run can be repeated. Always fires when absent.
    #[serde(default)]
    pub probability: Option<f64>,
    /// How many times it fired so far.
    #[serde(default)]
    pub fired: u64,
    #[serde(default)]
    pub seen: u64,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct FaultMatch {
    /// HTTP method, any case; any method when absent.
    #[serde(default)]
    pub method: Option<String>,
    /// Host prefix such as `management`, `login` or `vault` (matched against the first label(s)).
    #[serde(default)]
    pub host: Option<String>,
    /// Case-insensitive regular expression over the path (without query).
    #[serde(default)]
    pub path: Option<String>,
    /// Only mutating (PUT/PATCH/DELETE/POST) or only reading requests.
    #[serde(default)]
    pub mutating: Option<bool>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(
    tag = "kind",
    rename_all = "camelCase",
    rename_all_fields = "camelCase",
    deny_unknown_fields
)]
pub enum FaultAction {
    /// 429 with `Retry-After` and ARM's throttling error.
    Throttle {
        #[serde(default = "one")]
        retry_after_secs: u64,
    },
    /// A server error (500, 502, 503, 504) with ARM's error envelope; 503 carries `Retry-After`.
    ServerError {
        #[serde(default = "five_hundred")]
        status: u16,
    },
    /// Any 4xx/5xx answer with ARM's error envelope, e.g. a 403 `AuthorizationFailed` for a drill.
    Error {
        status: u16,
        code: String,
        #[serde(default)]
        message: String,
    },
    /// Delay the answer; the request is then served normally.
    Latency { ms: u64 },
    /// Close the connection without answering.
    Drop,
    /// The request is accepted, but the long-running operation it starts ends `Failed`.
    FailLro {
        #[serde(default = "default_lro_code")]
        code: String,
        #[serde(default = "default_lro_message")]
        message: String,
    },
    /// Tokens issued by a matching token request live this many seconds.
    TokenLifetime { secs: u64 },
}

fn one() -> u64 {
    1
}
fn five_hundred() -> u16 {
    500
}
fn default_lro_code() -> String {
    "InternalServerError".into()
}
fn default_lro_message() -> String {
    "The operation failed because of an internal error (injected by the simulator).".into()
}

/// What the fault layer decided for one request.
#[derive(Debug, Default, Clone)]
pub struct FaultDecision {
    pub latency_ms: u64,
    /// Answer with this instead of serving the request.
    pub respond: Option<FaultAction>,
    pub fail_lro: Option<(String, String)>,
    pub token_lifetime_secs: Option<u64>,
}

#[derive(Debug)]
pub struct Faults {
    rules: Vec<FaultRule>,
    compiled: Vec<Option<regex::Regex>>,
    rng: StdRng,
    next_id: u64,
}

#[derive(Debug, thiserror::Error)]
pub enum FaultError {
    #[error("fault rule path pattern {pattern:?} is not a valid regular expression: {source}")]
    BadPattern {
        pattern: String,
        source: regex::Error,
    },
    #[error("fault rule probability must be between 0 and 1, got {0}")]
    BadProbability(f64),
    #[error("fault rule server error status must be 500, 502, 503 or 504, got {0}")]
    BadStatus(u16),
    #[error("fault rule error status must be between 400 and 599, got {0}")]
    BadErrorStatus(u16),
}

impl Default for Faults {
    fn default() -> Self {
        Self::new(0x5eed)
    }
}

impl Faults {
    pub fn new(seed: u64) -> Self {
        Self {
            rules: Vec::new(),
            compiled: Vec::new(),
            rng: StdRng::seed_from_u64(seed),
            next_id: 1,
        }
    }

    pub fn rules(&self) -> &[FaultRule] {
        &self.rules
    }

    pub fn clear(&mut self) {
        self.rules.clear();
        self.compiled.clear();
    }

    pub fn remove(&mut self, id: &str) -> bool {
        match self.rules.iter().position(|r| r.id == id) {
            Some(i) => {
                self.rules.remove(i);
                self.compiled.remove(i);
                true
            }
            None => false,
        }
    }

    pub fn add(&mut self, mut rule: FaultRule) -> Result<String, FaultError> {
        if let Some(p) = rule.probability {
            if !(0.0..=1.0).contains(&p) {
                return Err(FaultError::BadProbability(p));
            }
        }
        if let FaultAction::ServerError { status } = rule.action {
            if ![500, 502, 503, 504].contains(&status) {
                return Err(FaultError::BadStatus(status));
            }
        }
        if let FaultAction::Error { status, .. } = &rule.action {
            if !(400..=599).contains(status) {
                return Err(FaultError::BadErrorStatus(*status));
            }
        }
        let compiled = match &rule.matcher.path {
            Some(p) => Some(
                regex::RegexBuilder::new(p)
                    .case_insensitive(true)
                    .size_limit(1 << 20)
                    .build()
                    .map_err(|source| FaultError::BadPattern {
                        pattern: p.clone(),
                        source,
                    })?,
            ),
            None => None,
        };
        if rule.id.is_empty() {
            rule.id = format!("fault-{}", self.next_id);
            self.next_id += 1;
        }
        let id = rule.id.clone();
        self.rules.push(rule);
        self.compiled.push(compiled);
        Ok(id)
    }

    /// Applies every matching rule to a request. Rules are independent: a latency rule and a
    /// throttle rule can both fire; the first answering rule wins.
    pub fn decide(
        &mut self,
        method: &str,
        host: &str,
        path: &str,
        mutating: bool,
    ) -> FaultDecision {
        let mut decision = FaultDecision::default();
        for (rule, pattern) in self.rules.iter_mut().zip(&self.compiled) {
            let m = &rule.matcher;
            if m.method
                .as_deref()
                .is_some_and(|x| !x.eq_ignore_ascii_case(method))
            {
                continue;
            }
            if m.host.as_deref().is_some_and(|h| {
                !host
                    .to_ascii_lowercase()
                    .starts_with(&h.to_ascii_lowercase())
            }) {
                continue;
            }
            if m.mutating.is_some_and(|x| x != mutating) {
                continue;
            }
            if pattern.as_ref().is_some_and(|re| !re.is_match(path)) {
                continue;
            }
            if rule.times.is_some_and(|t| rule.fired >= t) {
                continue;
            }
            rule.seen += 1;
            if rule.seen <= rule.skip {
                continue;
            }
            if let Some(p) = rule.probability {
                if self.rng.gen::<f64>() >= p {
                    continue;
                }
            }
            rule.fired += 1;
            match &rule.action {
                FaultAction::Latency { ms } => decision.latency_ms += ms,
                FaultAction::FailLro { code, message } => {
                    decision.fail_lro = Some((code.clone(), message.clone()))
                }
                FaultAction::TokenLifetime { secs } => decision.token_lifetime_secs = Some(*secs),
                other => {
                    if decision.respond.is_none() {
                        decision.respond = Some(other.clone());
                    }
                }
            }
        }
        decision
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rule(action: FaultAction) -> FaultRule {
        FaultRule {
            id: String::new(),
            matcher: FaultMatch::default(),
            action,
            times: None,
            skip: 0,
            probability: None,
            fired: 0,
            seen: 0,
        }
    }

    #[test]
    fn times_and_skip_bound_a_rule() {
        let mut f = Faults::default();
        let mut r = rule(FaultAction::Throttle {
            retry_after_secs: 2,
        });
        r.times = Some(2);
        r.skip = 1;
        f.add(r).unwrap();
        let fired: Vec<bool> = (0..5)
            .map(|_| {
                f.decide("GET", "management.x", "/subscriptions", false)
                    .respond
                    .is_some()
            })
            .collect();
        assert_eq!(fired, vec![false, true, true, false, false]);
    }

    #[test]
    fn matchers_filter_and_probability_is_repeatable() {
        let mut f = Faults::new(7);
        let mut r = rule(FaultAction::ServerError { status: 503 });
        r.matcher.path = Some("/containerApps/".into());
        r.matcher.method = Some("put".into());
        r.probability = Some(0.3);
        f.add(r).unwrap();
        assert!(f
            .decide("GET", "management", "/x/containerapps/a", false)
            .respond
            .is_none());
        let hits = (0..1000)
            .filter(|_| {
                f.decide("PUT", "management", "/x/containerapps/a", true)
                    .respond
                    .is_some()
            })
            .count();
        assert!((200..400).contains(&hits), "{hits}");
        let mut again = Faults::new(7);
        let mut r = rule(FaultAction::ServerError { status: 503 });
        r.probability = Some(0.3);
        again.add(r).unwrap();
        let first: Vec<bool> = (0..20)
            .map(|_| again.decide("PUT", "m", "/", true).respond.is_some())
            .collect();
        let mut third = Faults::new(7);
        let mut r = rule(FaultAction::ServerError { status: 503 });
        r.probability = Some(0.3);
        third.add(r).unwrap();
        let second: Vec<bool> = (0..20)
            .map(|_| third.decide("PUT", "m", "/", true).respond.is_some())
            .collect();
        assert_eq!(first, second);
    }

    #[test]
    fn invalid_rules_are_refused() {
        let mut f = Faults::default();
        let mut r = rule(FaultAction::Drop);
        r.matcher.path = Some("(".into());
        assert!(f.add(r).is_err());
        let mut r = rule(FaultAction::Drop);
        r.probability = Some(1.5);
        assert!(f.add(r).is_err());
        assert!(f
            .add(rule(FaultAction::ServerError { status: 418 }))
            .is_err());
        let id = f.add(rule(FaultAction::Drop)).unwrap();
        assert!(f.remove(&id));
        assert!(f.rules().is_empty());
    }
}
