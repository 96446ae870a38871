//! "The same number called within the last 24 hours", without keeping the number.
//!
//! The approach privacy-first web analytics use: the number is hashed with HMAC under a
//! random salt that exists only in this process's memory and is replaced every UTC day.
//! The hashes of today and yesterday are kept, with when each was seen, so a call is
//! flagged if its number was seen less than 24 hours earlier, even across midnight. Two
//! days later both the salt and the hashes are gone, and nothing was ever written down:
//! only the yes/no flag reaches the database.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use chrono::NaiveDate;
use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;

const WINDOW: Duration = Duration::from_secs(24 * 3600);

struct SaltedDay {
    day: NaiveDate,
    salt: [u8; 32],
    seen: HashMap<[u8; 16], Instant>,
}

impl SaltedDay {
    fn new(day: NaiveDate) -> SaltedDay {
        SaltedDay { day, salt: rand::random(), seen: HashMap::new() }
    }

    fn hash(&self, number: &str) -> [u8; 16] {
        #[allow(clippy::expect_used, reason = "HMAC takes a key of any length: new_from_slice never fails")]
        let mut mac = Hmac::<Sha256>::new_from_slice(&self.salt).expect("HMAC takes any key length");
        mac.update(number.as_bytes());
        let digest = mac.finalize().into_bytes();
        std::array::from_fn(|i| digest[i])
    }

    fn seen_since(&self, number: &str, since: Option<Instant>) -> bool {
        self.seen.get(&self.hash(number)).is_some_and(|at| since.is_none_or(|since| *at >= since))
    }
}

pub struct RepeatCallers {
    today: SaltedDay,
    yesterday: Option<SaltedDay>,
}

impl RepeatCallers {
    pub fn new(today: NaiveDate) -> RepeatCallers {
        RepeatCallers { today: SaltedDay::new(today), yesterday: None }
    }

    /// Whether `number` called in the 24 hours before `now`; remembers this call.
    pub fn check(&mut self, number: &str, day: NaiveDate, now: Instant) -> bool {
        self.rotate(day);
        let since = now.checked_sub(WINDOW);
        let repeat = self.today.seen_since(number, since)
            || self.yesterday.as_ref().is_some_and(|y| y.seen_since(number, since));
        let hash = self.today.hash(number);
        self.today.seen.insert(hash, now);
        repeat
    }

    fn rotate(&mut self, day: NaiveDate) {
        if day == self.today.day {
            return;
        }
        let previous = std::mem::replace(&mut self.today, SaltedDay::new(day));
        self.yesterday = (previous.day.succ_opt() == Some(day)).then_some(previous);
    }
}
