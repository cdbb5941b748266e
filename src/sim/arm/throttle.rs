//! ARM's throttling: token buckets per subscription (or tenant) and principal, one per operation
//! class, with the documented sizes (reads 250 refilling 25/s; writes and deletes 200 refilling
//! 10/s), scaled by a factor so drills can make throttling bite and benchmarks can turn it off.

use std::collections::HashMap;
use std::time::Instant;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum OpClass {
    Read,
    Write,
    Delete,
}

impl OpClass {
    pub fn of(method: &http::Method) -> Self {
        match *method {
            http::Method::DELETE => OpClass::Delete,
            http::Method::PUT | http::Method::PATCH | http::Method::POST => OpClass::Write,
            _ => OpClass::Read,
        }
    }

    pub fn header_suffix(self) -> &'static str {
        match self {
            OpClass::Read => "reads",
            OpClass::Write => "writes",
            OpClass::Delete => "deletes",
        }
    }

    fn capacity_and_refill(self) -> (f64, f64) {
        match self {
            OpClass::Read => (250.0, 25.0),
            OpClass::Write | OpClass::Delete => (200.0, 10.0),
        }
    }
}

#[derive(Debug)]
struct Bucket {
    tokens: f64,
    updated: Instant,
}

/// The outcome of taking a token.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Admission {
    /// Admitted; this many requests remain in the bucket.
    Admitted { remaining: u64 },
    /// Throttled; retry after this many seconds.
    Throttled { retry_after_secs: u64 },
}

#[derive(Debug, Default)]
pub struct Throttle {
    buckets: HashMap<(String, String, OpClass), Bucket>,
}

impl Throttle {
    /// Takes one token for `scope` (a subscription id or the tenant) and `principal`.
    pub fn admit(
        &mut self,
        scope: &str,
        principal: &str,
        class: OpClass,
        scale: f64,
        now: Instant,
    ) -> Admission {
        let (capacity, refill) = class.capacity_and_refill();
        if scale <= 0.0 {
            return Admission::Admitted {
                remaining: capacity as u64,
            };
        }
        let capacity = capacity * scale;
        let refill = refill * scale;
        let bucket = self
            .buckets
            .entry((scope.to_ascii_lowercase(), principal.to_string(), class))
            .or_insert(Bucket {
                tokens: capacity,
                updated: now,
            });
        let elapsed = now.saturating_duration_since(bucket.updated).as_secs_f64();
        bucket.tokens = (bucket.tokens + elapsed * refill).min(capacity);
        bucket.updated = now;
        if bucket.tokens >= 1.0 {
            bucket.tokens -= 1.0;
            Admission::Admitted {
                remaining: bucket.tokens.floor() as u64,
            }
        } else {
            let wait = ((1.0 - bucket.tokens) / refill).ceil().max(1.0);
            Admission::Throttled {
                retry_after_secs: wait as u64,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn bucket_empties_then_refills() {
        let mut t = Throttle::default();
        let start = Instant::now();
        for i in 0..250u64 {
            assert_eq!(
                t.admit("s", "p", OpClass::Read, 1.0, start),
                Admission::Admitted { remaining: 249 - i }
            );
        }
        assert_eq!(
            t.admit("s", "p", OpClass::Read, 1.0, start),
            Admission::Throttled {
                retry_after_secs: 1
            }
        );
        // 25 tokens a second come back.
        let later = start + Duration::from_secs(1);
        assert!(matches!(
            t.admit("s", "p", OpClass::Read, 1.0, later),
            Admission::Admitted { remaining: 24 }
        ));
        // Other principals and classes have their own buckets.
        assert!(matches!(
            t.admit("s", "q", OpClass::Read, 1.0, start),
            Admission::Admitted { .. }
        ));
        assert!(matches!(
            t.admit("s", "p", OpClass::Write, 1.0, start),
            Admission::Admitted { remaining: 199 }
        ));
    }

    #[test]
    fn scale_shrinks_and_zero_disables() {
        let mut t = Throttle::default();
        let now = Instant::now();
        for _ in 0..2 {
            assert!(matches!(
                t.admit("s", "p", OpClass::Write, 0.01, now),
                Admission::Admitted { .. }
            ));
        }
        assert!(matches!(
            t.admit("s", "p", OpClass::Write, 0.01, now),
            Admission::Throttled { .. }
        ));
        for _ in 0..1000 {
            assert!(matches!(
                t.admit("s", "p", OpClass::Delete, 0.0, now),
                Admission::Admitted { .. }
            ));
        }
    }
}
