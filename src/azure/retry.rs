//! When and how long to wait before trying a request again: the policy of the request pipeline,
//! kept apart from I/O so it can be tested exactly.
//!
//! Retried: connection failures and timeouts, 408, 429, 500, 502, 503, 504. Waits honour the
//! server's `retry-after-ms` / `x-ms-retry-after-ms` (milliseconds, what azure-core reads first)
//! and `Retry-After` (seconds or an HTTP date); otherwise exponential backoff with full jitter.
//! Every wait is bounded by the overall budget: a call never hangs past it.

use std::time::{Duration, SystemTime};

#[derive(Debug, Clone, PartialEq)]
pub struct RetryPolicy {
    /// Attempts after the first.
    pub max_retries: u32,
    /// First backoff step when the server gives no hint.
    pub base_delay: Duration,
    /// No single wait is longer than this (unless the server asks for longer and the budget allows).
    pub max_delay: Duration,
    /// Total time a call may spend, waits included.
    pub budget: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            max_retries: 6,
            base_delay: Duration::from_millis(400),
            max_delay: Duration::from_secs(30),
            budget: Duration::from_secs(120),
        }
    }
}

/// Why an attempt failed, as far as retrying is concerned.
#[derive(Debug, Clone, PartialEq)]
pub enum Failure {
    /// No answer: connection refused or reset, TLS failure, timeout.
    Transport,
    /// An HTTP answer with this status and these retry hints.
    Status { status: u16, hint: Option<Duration> },
}

#[derive(Debug, Clone, PartialEq)]
pub enum Decision {
    /// Wait this long, then try again.
    RetryAfter(Duration),
    /// Give up and report the failure.
    GiveUp,
}

pub fn is_retryable_status(status: u16) -> bool {
    matches!(status, 408 | 429 | 500 | 502 | 503 | 504)
}

/// The server's hint, from headers (name, value) as received.
pub fn retry_hint<'a>(
    headers: impl IntoIterator<Item = (&'a str, &'a str)>,
    now: SystemTime,
) -> Option<Duration> {
    let mut ms = None;
    let mut after = None;
    for (name, value) in headers {
        let value = value.trim();
        if name.eq_ignore_ascii_case("retry-after-ms")
            || name.eq_ignore_ascii_case("x-ms-retry-after-ms")
        {
            ms = value.parse::<u64>().ok().map(Duration::from_millis);
        } else if name.eq_ignore_ascii_case("retry-after") {
            after = parse_retry_after(value, now);
        }
    }
    ms.or(after)
}

/// `Retry-After`: delta-seconds or an HTTP date (RFC 9110 §10.2.3).
pub fn parse_retry_after(value: &str, now: SystemTime) -> Option<Duration> {
    let value = value.trim();
    if let Ok(secs) = value.parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    let when = chrono::DateTime::parse_from_rfc2822(value).ok()?;
    let when = SystemTime::UNIX_EPOCH + Duration::from_secs(u64::try_from(when.timestamp()).ok()?);
    Some(when.duration_since(now).unwrap_or(Duration::ZERO))
}

impl RetryPolicy {
    /// Decides after attempt number `attempt` (1 = the first try) failed with `failure`, having
    /// spent `elapsed` so far. `jitter` is a number in [0, 1) (random in use, fixed in tests).
    pub fn decide(
        &self,
        attempt: u32,
        failure: &Failure,
        elapsed: Duration,
        jitter: f64,
    ) -> Decision {
        if attempt > self.max_retries {
            return Decision::GiveUp;
        }
        let (retryable, hint) = match failure {
            Failure::Transport => (true, None),
            Failure::Status { status, hint } => (is_retryable_status(*status), *hint),
        };
        if !retryable {
            return Decision::GiveUp;
        }
        let wait = match hint {
            Some(h) => h,
            None => {
                // Full jitter: uniformly in [0, base * 2^(attempt-1)], capped.
                let exp = self
                    .base_delay
                    .saturating_mul(1u32 << (attempt - 1).min(16));
                exp.min(self.max_delay).mul_f64(jitter.clamp(0.0, 1.0))
            }
        };
        if elapsed.saturating_add(wait) > self.budget {
            return Decision::GiveUp;
        }
        Decision::RetryAfter(wait)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(secs: u64) -> SystemTime {
        SystemTime::UNIX_EPOCH + Duration::from_secs(secs)
    }

    #[test]
    fn retry_after_is_seconds_or_an_http_date() {
        assert_eq!(parse_retry_after("7", at(0)), Some(Duration::from_secs(7)));
        // Sun, 06 Nov 1994 08:49:37 GMT = 784111777
        assert_eq!(
            parse_retry_after("Sun, 06 Nov 1994 08:49:37 GMT", at(784_111_770)),
            Some(Duration::from_secs(7))
        );
        assert_eq!(
            parse_retry_after("Sun, 06 Nov 1994 08:49:37 GMT", at(784_111_800)),
            Some(Duration::ZERO)
        );
        assert_eq!(parse_retry_after("soon", at(0)), None);
        assert_eq!(parse_retry_after("-3", at(0)), None);
    }

    #[test]
    fn milliseconds_hints_win_over_retry_after() {
        let h = retry_hint([("Retry-After", "1"), ("retry-after-ms", "50")], at(0));
        assert_eq!(h, Some(Duration::from_millis(50)));
        let h = retry_hint([("x-ms-retry-after-ms", "20")], at(0));
        assert_eq!(h, Some(Duration::from_millis(20)));
        assert_eq!(
            retry_hint([("Retry-After", "3")], at(0)),
            Some(Duration::from_secs(3))
        );
        assert_eq!(retry_hint([("Content-Type", "x")], at(0)), None);
    }

    #[test]
    fn retries_what_can_succeed_later_and_honours_hints() {
        let p = RetryPolicy::default();
        let throttled = Failure::Status {
            status: 429,
            hint: Some(Duration::from_secs(7)),
        };
        assert_eq!(
            p.decide(1, &throttled, Duration::ZERO, 0.5),
            Decision::RetryAfter(Duration::from_secs(7))
        );
        for status in [400, 401, 403, 404, 409, 412] {
            assert_eq!(
                p.decide(
                    1,
                    &Failure::Status { status, hint: None },
                    Duration::ZERO,
                    0.5
                ),
                Decision::GiveUp,
                "{status}"
            );
        }
        assert!(matches!(
            p.decide(1, &Failure::Transport, Duration::ZERO, 0.5),
            Decision::RetryAfter(_)
        ));
        assert!(matches!(
            p.decide(
                1,
                &Failure::Status {
                    status: 503,
                    hint: None
                },
                Duration::ZERO,
                0.5
            ),
            Decision::RetryAfter(_)
        ));
    }

    #[test]
    fn backoff_grows_with_jitter_and_stops_at_the_limits() {
        let p = RetryPolicy {
            max_retries: 3,
            base_delay: Duration::from_millis(100),
            max_delay: Duration::from_millis(350),
            budget: Duration::from_secs(1),
        };
        let d = |attempt, jitter| p.decide(attempt, &Failure::Transport, Duration::ZERO, jitter);
        assert_eq!(d(1, 1.0), Decision::RetryAfter(Duration::from_millis(100)));
        assert_eq!(d(2, 1.0), Decision::RetryAfter(Duration::from_millis(200)));
        assert_eq!(
            d(3, 1.0),
            Decision::RetryAfter(Duration::from_millis(350)),
            "capped at max_delay"
        );
        assert_eq!(d(3, 0.5), Decision::RetryAfter(Duration::from_millis(175)));
        assert_eq!(d(4, 1.0), Decision::GiveUp, "max_retries");
        // The budget bounds the whole call, hints included.
        let long = Failure::Status {
            status: 429,
            hint: Some(Duration::from_secs(5)),
        };
        assert_eq!(p.decide(1, &long, Duration::ZERO, 0.0), Decision::GiveUp);
        assert_eq!(
            p.decide(1, &Failure::Transport, Duration::from_millis(950), 1.0),
            Decision::GiveUp
        );
    }
}
