//! What this process remembers about calls in progress, in memory only, never written.
//!
//! The call id is a keyed hash of the provider's `CallSid` under a random key made at
//! start-up and never stored: the provider's retry of the incoming-call webhook gets the
//! same id (so it is not counted twice), and the status callback, which carries only the
//! `CallSid`, finds its call, yet no one without this process's memory can go from a row
//! back to a `CallSid`, nor from a `CallSid` to a row. The trade-off with several instances:
//! each has its own key, so a retry or status callback that lands on another instance than
//! the one that answered is not linked (see README, "Statistics and privacy").

use std::collections::HashMap;
use std::time::{Duration, Instant};

use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;

use crate::flow::CallId;

/// Calls are forgotten this long after they started (no call on the line lasts this long).
const FORGET_AFTER: Duration = Duration::from_secs(6 * 3600);
/// At most this many calls are remembered; beyond it, durations are not measured.
const MAX_CALLS: usize = 200_000;

#[derive(Clone, Copy, Debug)]
struct LiveCall {
    started: Instant,
    repeat: bool,
}

pub struct LiveCalls {
    key: [u8; 32],
    calls: HashMap<CallId, LiveCall>,
    inserts: u32,
}

impl LiveCalls {
    pub fn new() -> LiveCalls {
        LiveCalls { key: rand::random(), calls: HashMap::new(), inserts: 0 }
    }

    /// The id of the call the provider calls `call_sid`.
    pub fn call_id(&self, call_sid: &str) -> CallId {
        #[allow(clippy::expect_used, reason = "HMAC takes a key of any length: new_from_slice never fails")]
        let mut mac = Hmac::<Sha256>::new_from_slice(&self.key).expect("HMAC takes any key length");
        mac.update(call_sid.as_bytes());
        let digest = mac.finalize().into_bytes();
        CallId(u64::from_be_bytes(std::array::from_fn(|i| digest[i])))
    }

    /// Remembers a call's start; `false` if it was already remembered (a redelivery).
    pub fn start(&mut self, call: CallId, now: Instant, repeat: impl FnOnce() -> bool) -> bool {
        if self.calls.contains_key(&call) {
            return false;
        }
        self.inserts = self.inserts.wrapping_add(1);
        if self.inserts.is_multiple_of(1024) || self.calls.len() >= MAX_CALLS {
            self.calls.retain(|_, c| now.duration_since(c.started) < FORGET_AFTER);
        }
        if self.calls.len() < MAX_CALLS {
            self.calls.insert(call, LiveCall { started: now, repeat: repeat() });
        }
        true
    }

    /// Seconds since the call started, and whether its number called in the previous
    /// 24 hours; `None` if this process did not see the call start.
    pub fn elapsed(&self, call: CallId, now: Instant) -> Option<(i32, bool)> {
        let live = self.calls.get(&call)?;
        let seconds = i32::try_from(now.duration_since(live.started).as_secs()).unwrap_or(i32::MAX);
        Some((seconds, live.repeat))
    }

    /// Forgets a call that ended; the seconds it lasted, if this process saw it start.
    pub fn end(&mut self, call: CallId, now: Instant) -> Option<i32> {
        let elapsed = self.elapsed(call, now).map(|(seconds, _)| seconds);
        self.calls.remove(&call);
        elapsed
    }
}

impl Default for LiveCalls {
    fn default() -> LiveCalls {
        LiveCalls::new()
    }
}
