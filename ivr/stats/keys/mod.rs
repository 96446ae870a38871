//! The day's keys every instance shares: how the provider's call id becomes the statistics
//! call id, and how a caller's number becomes the hash that says "called before".
//!
//! A webhook must never wait on the database, so the call path only reads [`DailyKeys`],
//! a few keys in memory. A background task ([`spawn_refresh`]) makes sure the database
//! holds keys for today and tomorrow (insert-if-absent, then read back what won), loads
//! yesterday's, today's and tomorrow's, and deletes what is older, so midnight needs no
//! database and the status callback of a call that started yesterday still finds its call.
//!
//! Each key is mixed in memory with the provider secrets of this configuration (the same
//! on every instance of one line): a reader of the database alone cannot recompute a call
//! id or a caller hash. When no shared key could be read (the database is away since
//! start-up), a key made at random in this process's memory stands in for that day: calls
//! still get an id, but a status callback or redelivery answered by another instance (or
//! after a restart, or after the shared key arrives) is not linked to them. So that a
//! restart does not cost that, start-up waits (a moment, bounded) for the refresh's first
//! try before it accepts calls ([`DailyKeys::first_try`]).

mod store;

use std::sync::{Arc, RwLock};
use std::time::Duration;

use chrono::{NaiveDate, TimeDelta, Utc};
use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::db::{Db, DbError};
use crate::flow::CallId;
pub use store::{CallerSeen, KeyStore};

/// How often the keys are checked once loaded (and the old ones deleted).
const REFRESH: Duration = Duration::from_secs(300);
/// How soon a failed load is tried again.
const RETRY: Duration = Duration::from_secs(2);
/// A load that takes longer is abandoned.
const LOAD_TIMEOUT: Duration = Duration::from_secs(10);
/// How long a caller hash is kept: the "called before" window.
pub const CALLER_WINDOW_MINUTES: i64 = 24 * 60;

pub type Key = [u8; 32];

/// HMAC-SHA256 with its key already absorbed: cloned for each message, so a call's hashes
/// cost the message's compressions only, not the key schedule's two more each time.
type Keyed = Hmac<Sha256>;

/// What a key is for (the `purpose` column).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Purpose {
    /// The statistics call id, from the provider's call id.
    Call,
    /// The caller hash, from the caller's number.
    Caller,
}

impl Purpose {
    fn as_str(self) -> &'static str {
        match self {
            Purpose::Call => "call",
            Purpose::Caller => "caller",
        }
    }
}

#[derive(Clone)]
struct DayKeys {
    day: NaiveDate,
    call: Keyed,
    caller: Keyed,
    /// Read from the database (false: made in this process, stands in until then).
    shared: bool,
}

/// The keys in memory; cheap to clone.
#[derive(Clone)]
pub struct DailyKeys {
    ring: Arc<RwLock<Vec<DayKeys>>>,
    /// Mixed into every key: the provider secrets of this configuration.
    pepper: Arc<Vec<u8>>,
    /// How the refresh's first try went: `None` until it ends, then whether it read the keys.
    first_try: Arc<watch::Sender<Option<bool>>>,
}

/// How the first try to read the shared keys went, by a moment after start-up.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FirstTry {
    /// The shared keys are read: every call is linked by them.
    Read,
    /// The database did not give them (its failure is logged by the refresh).
    Failed,
    /// Still under way.
    NotYet,
}

impl DailyKeys {
    pub fn new(pepper: Vec<u8>) -> DailyKeys {
        DailyKeys { ring: Arc::default(), pepper: Arc::new(pepper), first_try: Arc::new(watch::Sender::new(None)) }
    }

    /// The statistics id of the call the provider calls `provider_id`, for a call that
    /// started on `day` (UTC), and whether it is made with the day's shared key (`false`:
    /// with a key of this process only, which no other instance, nor this one after a
    /// restart, can link to).
    pub fn link(&self, provider_id: &str, day: NaiveDate) -> (CallId, bool) {
        let (key, shared) = self.key_of(day, Purpose::Call);
        let digest = sign(key, provider_id.as_bytes());
        (CallId(u64::from_be_bytes(std::array::from_fn(|i| digest[i]))), shared)
    }

    /// Waits, `within` at most, for the refresh's first try to end.
    pub async fn first_try(&self, within: Duration) -> FirstTry {
        let mut tried = self.first_try.subscribe();
        match tokio::time::timeout(within, tried.wait_for(Option::is_some)).await {
            Ok(Ok(read)) if *read == Some(true) => FirstTry::Read,
            Ok(_) => FirstTry::Failed,
            Err(_) => FirstTry::NotYet,
        }
    }

    /// Notes how a try went, if it is the first.
    fn tried(&self, read: bool) {
        self.first_try.send_if_modified(|first| {
            let is_first = first.is_none();
            if is_first {
                *first = Some(read);
            }
            is_first
        });
    }

    /// The hash of a caller's number under `day`'s salt.
    pub fn caller_hash(&self, number: &str, day: NaiveDate) -> [u8; 16] {
        let digest = sign(self.key(day, Purpose::Caller), number.as_bytes());
        std::array::from_fn(|i| digest[i])
    }

    /// The hash of a caller's number under `day`'s salt if this instance holds that day's
    /// key (a day before the first start has none): for looking up, never for storing.
    pub fn known_caller_hash(&self, number: &str, day: NaiveDate) -> Option<[u8; 16]> {
        let salt = self.read().iter().find(|k| k.day == day).map(|k| k.caller.clone())?;
        let digest = sign(salt, number.as_bytes());
        Some(std::array::from_fn(|i| digest[i]))
    }

    /// A tag of a call under `day`'s caller salt: tells a redelivery of the same call from
    /// a new call of the same number, without naming the call to a reader of the database.
    pub fn call_tag(&self, call: CallId, day: NaiveDate) -> [u8; 8] {
        let digest = sign(self.key(day, Purpose::Caller), &call.0.to_be_bytes());
        std::array::from_fn(|i| digest[i])
    }

    /// Whether `day`'s keys came from the database (the same on every instance).
    pub fn shared(&self, day: NaiveDate) -> bool {
        self.read().iter().any(|k| k.day == day && k.shared)
    }

    fn key(&self, day: NaiveDate, purpose: Purpose) -> Keyed {
        self.key_of(day, purpose).0
    }

    /// `day`'s key for `purpose`, and whether it is the shared one.
    fn key_of(&self, day: NaiveDate, purpose: Purpose) -> (Keyed, bool) {
        let pick = |k: &DayKeys| {
            let key = match purpose {
                Purpose::Call => k.call.clone(),
                Purpose::Caller => k.caller.clone(),
            };
            (key, k.shared)
        };
        if let Some(keys) = self.read().iter().find(|k| k.day == day) {
            return pick(keys);
        }
        let mut ring = self.ring.write().unwrap_or_else(|p| p.into_inner());
        if let Some(keys) = ring.iter().find(|k| k.day == day) {
            return pick(keys);
        }
        tracing::warn!(%day, "no shared statistics key for this day yet: using one of this process only");
        let local =
            DayKeys { day, call: keyed(&rand::random::<Key>()), caller: keyed(&rand::random::<Key>()), shared: false };
        let key = pick(&local);
        ring.push(local);
        key
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, Vec<DayKeys>> {
        self.ring.read().unwrap_or_else(|p| p.into_inner())
    }

    /// Keeps the keys of `days` that were loaded (mixed with the pepper), and any key of
    /// this process only for a day the database did not give.
    fn install(&self, loaded: &[(NaiveDate, Purpose, Key)], keep_from: NaiveDate) {
        let mut days: Vec<(NaiveDate, Option<Key>, Option<Key>)> = Vec::new();
        for &(day, purpose, key) in loaded {
            let mixed = Some(hmac(&key, &self.pepper));
            let index = days.iter().position(|k| k.0 == day).unwrap_or_else(|| {
                days.push((day, None, None));
                days.len() - 1
            });
            match purpose {
                Purpose::Call => days[index].1 = mixed,
                Purpose::Caller => days[index].2 = mixed,
            }
        }
        let mut fresh: Vec<DayKeys> = days
            .into_iter()
            .filter_map(|(day, call, caller)| {
                Some(DayKeys { day, call: keyed(&call?), caller: keyed(&caller?), shared: true })
            })
            .collect();
        let mut ring = self.ring.write().unwrap_or_else(|p| p.into_inner());
        for local in ring.iter().filter(|k| !k.shared && k.day >= keep_from) {
            if !fresh.iter().any(|k| k.day == local.day) {
                fresh.push(local.clone());
            }
        }
        *ring = fresh;
    }
}

/// The HMAC state of `key`, ready for messages.
fn keyed(key: &[u8]) -> Keyed {
    #[allow(clippy::expect_used, reason = "HMAC takes a key of any length: new_from_slice never fails")]
    Keyed::new_from_slice(key).expect("HMAC takes any key length")
}

/// HMAC-SHA256 of `message` under an already keyed state.
fn sign(mut mac: Keyed, message: &[u8]) -> Key {
    mac.update(message);
    mac.finalize().into_bytes().into()
}

fn hmac(key: &[u8], message: &[u8]) -> Key {
    sign(keyed(key), message)
}

/// The pepper of a configuration: its provider secrets, in a fixed order.
pub fn pepper(secrets: &[Option<&str>]) -> Vec<u8> {
    let mut pepper = b"ivr daily key".to_vec();
    for secret in secrets {
        pepper.push(0);
        pepper.extend_from_slice(secret.unwrap_or_default().as_bytes());
    }
    pepper
}

/// The task that keeps the keys loaded: a loop holding nothing to finish, aborted by
/// [`KeyRefresh::stop`] or when dropped.
pub struct KeyRefresh(JoinHandle<()>);

impl KeyRefresh {
    /// Aborts the refresh, and returns once it no longer runs (nor uses the database).
    pub async fn stop(mut self) {
        self.0.abort();
        let _ = (&mut self.0).await;
    }
}

impl Drop for KeyRefresh {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// Starts the task that keeps `keys` loaded from `db`.
pub fn spawn_refresh(keys: DailyKeys, db: Db) -> KeyRefresh {
    KeyRefresh(tokio::spawn(async move {
        let mut failing = false;
        loop {
            let loaded = match tokio::time::timeout(LOAD_TIMEOUT, refresh(&keys, &db)).await {
                Ok(Ok(())) => Ok(()),
                Ok(Err(error)) => Err(error.to_string()),
                Err(_) => Err("the database did not answer in time".to_owned()),
            };
            keys.tried(loaded.is_ok());
            let wait = match loaded {
                Ok(()) => {
                    if std::mem::take(&mut failing) {
                        tracing::info!("shared statistics keys loaded: the database answers again");
                    }
                    REFRESH
                }
                Err(why) => failed(&mut failing, &why),
            };
            tokio::time::sleep(wait).await;
        }
    }))
}

fn failed(failing: &mut bool, why: &str) -> Duration {
    if !std::mem::replace(failing, true) {
        tracing::warn!(error = why, "cannot load the shared statistics keys: calls are linked by this process only");
    }
    RETRY
}

/// One refresh: today's and tomorrow's keys exist, the old keys and callers are deleted,
/// and the three days' keys are loaded (last: once they are, this refresh writes nothing more).
pub async fn refresh(keys: &DailyKeys, db: &Db) -> Result<(), DbError> {
    db.ready().await?;
    let today = Utc::now().date_naive();
    let yesterday = today - TimeDelta::days(1);
    for day in [today, today + TimeDelta::days(1)] {
        for purpose in [Purpose::Call, Purpose::Caller] {
            db.insert_key_if_absent(day, purpose, &rand::random()).await?;
        }
    }
    db.forget_before(yesterday, minute_now() - CALLER_WINDOW_MINUTES).await?;
    let loaded = db.keys_since(yesterday).await?;
    keys.install(&loaded, yesterday);
    Ok(())
}

/// Minutes since 1970-01-01 UTC, now.
pub fn minute_now() -> i64 {
    Utc::now().timestamp().div_euclid(60)
}

#[cfg(test)]
mod tests {
    use super::*;

    const SID: &str = "CA0123456789abcdef0123456789abcdef";

    /// A fresh SQLite file (kept by the returned folder), connected twice: two instances.
    async fn two_instances() -> (tempfile::TempDir, Db, Db) {
        let dir = tempfile::tempdir().expect("a temporary folder");
        let url = format!("sqlite://{}", dir.path().join("stats.sqlite3").display());
        let first = Db::connect(&url).await.expect("the file is made");
        first.ready().await.expect("the file migrates");
        let second = Db::connect(&url).await.expect("the file opens");
        (dir, first, second)
    }

    #[tokio::test]
    async fn two_instances_racing_for_a_new_day_end_up_with_one_key() {
        let (_dir, db_a, db_b) = two_instances().await;
        let (a, b) = (DailyKeys::new(pepper(&[Some("token")])), DailyKeys::new(pepper(&[Some("token")])));
        let (ra, rb) = tokio::join!(refresh(&a, &db_a), refresh(&b, &db_b));
        ra.expect("instance a loads the keys");
        rb.expect("instance b loads the keys");
        let today = Utc::now().date_naive();
        let tomorrow = today + TimeDelta::days(1);
        assert!(a.shared(today) && b.shared(today) && a.shared(tomorrow) && b.shared(tomorrow));
        assert_eq!(a.link(SID, today).0, b.link(SID, today).0, "the same call id on both instances");
        assert_eq!(a.link(SID, tomorrow).0, b.link(SID, tomorrow).0, "midnight needs no database");
        assert_ne!(a.link(SID, today).0, a.link(SID, tomorrow).0, "a new key every day");
        assert_eq!(a.caller_hash("+77010000001", today), b.caller_hash("+77010000001", today));
        let other_secret = DailyKeys::new(pepper(&[Some("another token")]));
        refresh(&other_secret, &db_a).await.expect("keys load");
        assert_ne!(a.link(SID, today).0, other_secret.link(SID, today).0, "the secrets are mixed in");
    }

    #[tokio::test]
    async fn a_key_of_this_process_stands_in_until_the_shared_one_is_read() {
        let (_dir, db, _) = two_instances().await;
        let keys = DailyKeys::new(pepper(&[]));
        let today = Utc::now().date_naive();
        let before = keys.link(SID, today).0;
        assert_eq!(keys.link(SID, today).0, before, "the stand-in key is kept while there is no other");
        assert!(!keys.shared(today));
        refresh(&keys, &db).await.expect("keys load");
        assert!(keys.shared(today));
        assert_ne!(keys.link(SID, today).0, before, "the shared key replaces the stand-in");
    }

    #[tokio::test]
    async fn the_first_try_says_whether_the_keys_were_read_or_the_database_failed() {
        let (_dir, db, _) = two_instances().await;
        let keys = DailyKeys::new(pepper(&[]));
        assert_eq!(keys.first_try(Duration::ZERO).await, FirstTry::NotYet);
        let _refresh = spawn_refresh(keys.clone(), db);
        assert_eq!(keys.first_try(Duration::from_secs(5)).await, FirstTry::Read);
        assert!(keys.shared(Utc::now().date_naive()));

        let nowhere = tempfile::tempdir().expect("a temporary folder");
        let url = format!("sqlite://{}", nowhere.path().join("not-yet").join("stats.sqlite3").display());
        let unreachable = DailyKeys::new(pepper(&[]));
        let _refresh = spawn_refresh(unreachable.clone(), Db::connect_lazy(&url).expect("a URL"));
        assert_eq!(unreachable.first_try(Duration::from_secs(5)).await, FirstTry::Failed, "not a wait to the end");
    }

    #[tokio::test]
    async fn keys_older_than_yesterday_and_callers_older_than_a_day_are_deleted() {
        let (_dir, db, _) = two_instances().await;
        let keys = DailyKeys::new(pepper(&[]));
        refresh(&keys, &db).await.expect("keys load");
        let today = Utc::now().date_naive();
        for days_ago in [1, 2, 30] {
            db.insert_key_if_absent(today - TimeDelta::days(days_ago), Purpose::Call, &rand::random())
                .await
                .expect("an old key");
        }
        let now = minute_now();
        let caller = |minute| CallerSeen { hash: rand::random(), yesterday: None, call: rand::random(), minute };
        db.callers_seen(&[caller(now - CALLER_WINDOW_MINUTES - 1), caller(now - 5)]).await.expect("callers");
        refresh(&keys, &db).await.expect("keys load");
        let days: Vec<NaiveDate> =
            db.keys_since(today - TimeDelta::days(365)).await.expect("keys").iter().map(|k| k.0).collect();
        assert!(days.iter().all(|day| *day >= today - TimeDelta::days(1)), "{days:?}");
        assert!(days.contains(&(today - TimeDelta::days(1))), "yesterday's key stays for calls over midnight");
        let Db::Sqlite(sqlite) = &db else { unreachable!("a SQLite test database") };
        let callers: i64 =
            sqlx::query_scalar("SELECT COUNT(*) FROM recent_callers").fetch_one(sqlite.reader()).await.expect("count");
        assert_eq!(callers, 1, "only the caller of the last 24 hours is kept");
    }

    #[tokio::test]
    async fn a_number_is_a_repeat_within_a_day_but_a_redelivery_is_not() {
        let (_dir, db, _) = two_instances().await;
        let now = minute_now();
        let number = rand::random();
        let seen = |call: u8, minute| CallerSeen { hash: number, yesterday: None, call: [call; 8], minute };
        assert_eq!(db.callers_seen(&[seen(1, now - 60)]).await.expect("checked"), [false]);
        assert_eq!(db.callers_seen(&[seen(1, now - 60)]).await.expect("checked"), [false], "a redelivery");
        assert_eq!(db.callers_seen(&[seen(2, now)]).await.expect("checked"), [true], "a new call an hour later");
        let yesterday = CallerSeen { hash: rand::random(), yesterday: Some(number), call: [3; 8], minute: now };
        assert_eq!(db.callers_seen(&[yesterday]).await.expect("checked"), [true], "seen under yesterday's salt");
        let other = rand::random();
        let batch = [
            CallerSeen { hash: other, yesterday: None, call: [4; 8], minute: now },
            CallerSeen { hash: rand::random(), yesterday: Some(rand::random()), call: [5; 8], minute: now },
            CallerSeen { hash: other, yesterday: None, call: [6; 8], minute: now },
        ];
        assert_eq!(db.callers_seen(&batch).await.expect("checked"), [false, false, true], "one batch, in order");
    }
}
