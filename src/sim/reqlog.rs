//! The request log: every request the simulator answered, in order, so tests and drills can prove
//! what a client did (how many retries, whether a mutation was sent twice) without timing anything.

use std::collections::VecDeque;

use serde::Serialize;

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct LoggedRequest {
    pub seq: u64,
    pub time: String,
    pub method: String,
    pub host: String,
    pub path: String,
    pub query: String,
    pub status: u16,
    pub mutating: bool,
    /// The principal that made the call (object id), when a valid token was presented.
    pub principal: Option<String>,
    pub client_request_id: Option<String>,
    pub request_id: Option<String>,
    /// A fault rule's action that answered instead of the simulator, if any.
    pub fault: Option<String>,
    pub duration_ms: u64,
}

#[derive(Debug)]
pub struct RequestLog {
    entries: VecDeque<LoggedRequest>,
    next_seq: u64,
    capacity: usize,
}

impl Default for RequestLog {
    /// The newest 50,000 requests: every test and drill reads far fewer, and a long demo under
    /// load stays within a few tens of megabytes.
    fn default() -> Self {
        Self::with_capacity(50_000)
    }
}

impl RequestLog {
    pub fn with_capacity(capacity: usize) -> Self {
        Self {
            entries: VecDeque::new(),
            next_seq: 1,
            capacity: capacity.max(1),
        }
    }

    pub fn push(&mut self, mut entry: LoggedRequest) -> u64 {
        entry.seq = self.next_seq;
        self.next_seq += 1;
        if self.entries.len() == self.capacity {
            self.entries.pop_front();
        }
        let seq = entry.seq;
        self.entries.push_back(entry);
        seq
    }

    /// Entries with `seq > after`, oldest first.
    pub fn since(&self, after: u64) -> Vec<LoggedRequest> {
        self.entries
            .iter()
            .filter(|e| e.seq > after)
            .cloned()
            .collect()
    }

    pub fn last_seq(&self) -> u64 {
        self.next_seq - 1
    }

    pub fn clear(&mut self) {
        self.entries.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry() -> LoggedRequest {
        LoggedRequest {
            seq: 0,
            time: String::new(),
            method: "GET".into(),
            host: "management".into(),
            path: "/".into(),
            query: String::new(),
            status: 200,
            mutating: false,
            principal: None,
            client_request_id: None,
            request_id: None,
            fault: None,
            duration_ms: 0,
        }
    }

    #[test]
    fn keeps_order_and_drops_the_oldest_past_capacity() {
        let mut log = RequestLog::with_capacity(2);
        for _ in 0..3 {
            log.push(entry());
        }
        let seqs: Vec<u64> = log.since(0).iter().map(|e| e.seq).collect();
        assert_eq!(seqs, vec![2, 3]);
        assert_eq!(log.since(2).len(), 1);
        assert_eq!(log.last_seq(), 3);
    }
}
