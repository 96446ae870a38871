//! Sign-in under a flood. Each `POST /login` costs an argon2id check (19 MiB of memory and
//! tens of milliseconds of a core): that is the point against guessing, and a lever for
//! anyone who sends many at once (64 clients once drove the process to 10 GB). So before a
//! password is checked, in this process's memory and before the database is touched:
//!
//! - **At most a few checks at once** ([`PasswordChecks`], `IVR_PASSWORD_CHECKS`): a sign-in
//!   beyond them is answered 503 at once, never queued, so memory stays bounded whatever
//!   arrives.
//! - **Per client address**: after [`ADDRESS_MAX_FAILURES`] failed sign-ins in the window, under
//!   any names, the address is refused (429) until the window has passed. An attempt counts
//!   as a failure from the moment it is claimed, so a burst from one address gets no more
//!   tries than a patient one; a success clears the address. The address is the peer's, or
//!   behind a proxy the one the proxy reports (`client.rs`).
//! - **No lock-out of a real user by name**: the per-name limit (in the database, shared by
//!   every instance, `login.rs`) would let a stranger lock an administrator out by failing
//!   five times with their name. A client address with no failures of its own is not
//!   refused by it: its password is checked late, in a slow lane of one check per
//!   [`SLOW_LANE_SPACING`] per name, at least [`SLOW_LANE_DELAY`] after it asked. A failure
//!   there makes the address one with failures, so each slow-lane guess costs an attacker a
//!   fresh address, and guesses at a name stay slow.
//!
//! These limits are per instance: behind a load balancer each instance counts on its own
//! (the per-name limit is shared). The tables are bounded ([`MAX_TRACKED`] entries); when one
//! is full of live entries, new addresses or names are answered "busy" rather than letting
//! memory grow.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

pub use super::secret::PasswordChecks;

/// Failed sign-ins one client address may make in [`WINDOW`], under any names. Higher than
/// the per-name limit: an office behind one address has several people.
pub const ADDRESS_MAX_FAILURES: u32 = 20;
/// How long a failure counts.
pub const WINDOW: Duration = Duration::from_secs(15 * 60);
/// A clean client's sign-in to a name the per-name limit refuses waits at least this long.
pub const SLOW_LANE_DELAY: Duration = Duration::from_secs(2);
/// One slow-lane check per name per this long.
pub const SLOW_LANE_SPACING: Duration = Duration::from_secs(2);
/// A slow-lane sign-in that would wait longer than this is refused (429) instead.
pub const SLOW_LANE_MAX_WAIT: Duration = Duration::from_secs(20);
/// Entries each table holds at most.
pub const MAX_TRACKED: usize = 100_000;

/// Why a sign-in is not checked.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Refusal {
    /// This client has used its attempts, or this name has (the per-name limit in the
    /// database, or a slow lane booked too far ahead): try again in this many minutes (at
    /// least 1).
    TooMany {
        /// Minutes until the next attempt may be checked.
        minutes: u32,
    },
    /// The service is checking as many passwords as it may: try again in a moment.
    Busy,
}

/// The limits of one process; see the module documentation.
pub struct SignInLimits {
    /// The password checks that may run at once.
    pub checks: PasswordChecks,
    addresses: Mutex<HashMap<IpAddr, Failures>>,
    /// For each name in the slow lane: the earliest time its next check may run.
    slow_lane: Mutex<HashMap<String, Instant>>,
}

/// One client's failures in its current window.
#[derive(Clone, Copy, Debug)]
struct Failures {
    count: u32,
    since: Instant,
}

impl Failures {
    fn live(&self, now: Instant) -> bool {
        now.saturating_duration_since(self.since) < WINDOW && self.count > 0
    }
}

/// What [`SignInLimits::claim`] learnt of the client.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Claim {
    /// The client had no failure in the window before this attempt.
    pub was_clean: bool,
}

impl SignInLimits {
    /// Limits allowing `checks_at_once` password checks at a time (`IVR_PASSWORD_CHECKS`).
    pub fn new(checks_at_once: usize) -> SignInLimits {
        SignInLimits {
            checks: PasswordChecks::new(checks_at_once),
            addresses: Mutex::new(HashMap::new()),
            slow_lane: Mutex::new(HashMap::new()),
        }
    }

    /// Counts an attempt from `client` as a failure before its password is checked, unless
    /// the client has used its attempts.
    pub fn claim(&self, client: IpAddr, now: Instant) -> Result<Claim, Refusal> {
        let mut addresses = self.addresses.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        if addresses.len() >= MAX_TRACKED && !addresses.contains_key(&client) {
            addresses.retain(|_, failures| failures.live(now));
            if addresses.len() >= MAX_TRACKED {
                return Err(Refusal::Busy);
            }
        }
        let failures = addresses.entry(client).or_insert(Failures { count: 0, since: now });
        if !failures.live(now) {
            *failures = Failures { count: 0, since: now };
        }
        if failures.count >= ADDRESS_MAX_FAILURES {
            return Err(Refusal::TooMany { minutes: minutes_left(failures.since + WINDOW, now) });
        }
        failures.count += 1;
        Ok(Claim { was_clean: failures.count == 1 })
    }

    /// A claimed attempt whose password was not checked after all (the service was busy).
    pub fn unclaim(&self, client: IpAddr) {
        let mut addresses = self.addresses.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some(failures) = addresses.get_mut(&client) {
            failures.count = failures.count.saturating_sub(1);
            if failures.count == 0 {
                addresses.remove(&client);
            }
        }
    }

    /// A successful sign-in clears the client's failures.
    pub fn succeeded(&self, client: IpAddr) {
        self.addresses.lock().unwrap_or_else(std::sync::PoisonError::into_inner).remove(&client);
    }

    /// Books a slow-lane check of `name`: how long to wait before checking, or a refusal
    /// when the lane is booked further ahead than [`SLOW_LANE_MAX_WAIT`].
    pub fn book_slow_lane(&self, name: &str, now: Instant) -> Result<Duration, Refusal> {
        let mut lane = self.slow_lane.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        if lane.len() >= MAX_TRACKED && !lane.contains_key(name) {
            lane.retain(|_, next| *next > now);
            if lane.len() >= MAX_TRACKED {
                return Err(Refusal::Busy);
            }
        }
        let slot = lane.get(name).copied().unwrap_or(now).max(now + SLOW_LANE_DELAY);
        let wait = slot - now;
        if wait > SLOW_LANE_MAX_WAIT {
            return Err(Refusal::TooMany { minutes: 1 });
        }
        lane.insert(name.to_owned(), slot + SLOW_LANE_SPACING);
        Ok(wait)
    }
}

/// Whole minutes from `now` until `until`, at least 1.
fn minutes_left(until: Instant, now: Instant) -> u32 {
    u32::try_from(until.saturating_duration_since(now).as_secs().div_ceil(60)).unwrap_or(u32::MAX).max(1)
}

#[cfg(test)]
mod tests {
    use super::*;

    const CLIENT: IpAddr = IpAddr::V4(std::net::Ipv4Addr::new(203, 0, 113, 7));
    const OTHER: IpAddr = IpAddr::V4(std::net::Ipv4Addr::new(198, 51, 100, 1));

    #[test]
    fn an_address_is_refused_after_its_failures_until_the_window_passes() {
        let limits = SignInLimits::new(1);
        let now = Instant::now();
        assert_eq!(limits.claim(CLIENT, now), Ok(Claim { was_clean: true }));
        for _ in 1..ADDRESS_MAX_FAILURES {
            assert_eq!(limits.claim(CLIENT, now), Ok(Claim { was_clean: false }));
        }
        assert_eq!(limits.claim(CLIENT, now + Duration::from_secs(60)), Err(Refusal::TooMany { minutes: 14 }));
        assert_eq!(limits.claim(OTHER, now), Ok(Claim { was_clean: true }), "another address is not refused");
        assert_eq!(limits.claim(CLIENT, now + WINDOW), Ok(Claim { was_clean: true }), "the window passed");
    }

    #[test]
    fn a_success_clears_the_address_and_an_unchecked_attempt_does_not_count() {
        let limits = SignInLimits::new(1);
        let now = Instant::now();
        limits.claim(CLIENT, now).unwrap();
        limits.unclaim(CLIENT);
        assert_eq!(limits.claim(CLIENT, now), Ok(Claim { was_clean: true }), "a busy refusal is not a failure");
        limits.claim(CLIENT, now).unwrap();
        limits.succeeded(CLIENT);
        assert_eq!(limits.claim(CLIENT, now), Ok(Claim { was_clean: true }));
    }

    #[test]
    fn the_slow_lane_spaces_checks_of_one_name_and_refuses_beyond_its_wait() {
        let limits = SignInLimits::new(1);
        let now = Instant::now();
        assert_eq!(limits.book_slow_lane("asel", now), Ok(SLOW_LANE_DELAY));
        assert_eq!(limits.book_slow_lane("asel", now), Ok(SLOW_LANE_DELAY + SLOW_LANE_SPACING));
        assert_eq!(limits.book_slow_lane("dana", now), Ok(SLOW_LANE_DELAY), "names have lanes of their own");
        let later = now + Duration::from_secs(60);
        assert_eq!(limits.book_slow_lane("asel", later), Ok(SLOW_LANE_DELAY), "an idle lane starts afresh");
        let booked = (0..20).map(|_| limits.book_slow_lane("dana", later)).collect::<Vec<_>>();
        let refused = booked.iter().filter(|b| b.is_err()).count();
        let most = SLOW_LANE_MAX_WAIT.as_secs() / SLOW_LANE_SPACING.as_secs();
        assert_eq!(refused, 20 - usize::try_from(most).unwrap(), "{booked:?}");
    }

    #[test]
    fn minutes_left_round_up_and_are_at_least_one() {
        let now = Instant::now();
        assert_eq!(minutes_left(now + Duration::from_secs(61), now), 2);
        assert_eq!(minutes_left(now, now), 1);
    }
}
