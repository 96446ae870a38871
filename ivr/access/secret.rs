//! The secrets of access control and how they are kept: random session cookies, API tokens
//! and CSRF tokens (32 random bytes each), stored only as their SHA-256; passwords stored as
//! argon2id hashes, checked off the async threads, a bounded number at once.

use std::sync::{Arc, Mutex, OnceLock, PoisonError};

use argon2::password_hash::PasswordHasher;
use argon2::password_hash::phc::{Output, PasswordHash};
use argon2::{Algorithm, Argon2, Block, Params, Version};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use sha2::{Digest, Sha256};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// A fresh random secret, URL- and cookie-safe (43 characters).
pub fn new_secret() -> String {
    URL_SAFE_NO_PAD.encode(rand::random::<[u8; 32]>())
}

/// What is stored for a secret: its SHA-256, in hex.
pub fn digest(secret: &str) -> String {
    hex::encode(Sha256::digest(secret.as_bytes()))
}

/// Whether two secrets are equal, in time that does not depend on where they differ.
pub fn same(a: &str, b: &str) -> bool {
    a.len() == b.len() && a.bytes().zip(b.bytes()).fold(0, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// An argon2id PHC string for `password` (slow on purpose: run it off the async threads).
pub async fn hash_password(password: String) -> anyhow::Result<String> {
    tokio::task::spawn_blocking(move || {
        // A fresh random salt from the operating system for each password.
        let hash = Argon2::default().hash_password(password.as_bytes()).map_err(|e| anyhow::anyhow!("{e}"))?;
        Ok(hash.to_string())
    })
    .await?
}

/// How many password checks may run at once: each argon2id check works in 19 MiB for tens
/// of milliseconds, so this bounds the memory sign-ins can take, whatever arrives. The
/// working memory is allocated once per place and reused: allocating it per check left
/// 19 MiB behind in each of the allocator's per-thread arenas (337 MiB on 2 cores, more
/// with more cores), reusing it keeps the total at places × 19 MiB.
#[derive(Clone)]
pub struct PasswordChecks {
    places: Arc<Semaphore>,
    memory: Arc<Mutex<Vec<Vec<Block>>>>,
}

/// The right to run one password check, with its working memory; held until the check has
/// finished, even when the request that asked for it has gone.
pub struct PasswordCheck {
    _place: OwnedSemaphorePermit,
    memory: Vec<Block>,
    pool: Arc<Mutex<Vec<Vec<Block>>>>,
}

impl PasswordChecks {
    pub fn new(at_once: usize) -> PasswordChecks {
        let places = Arc::new(Semaphore::new(at_once.max(1)));
        PasswordChecks { places, memory: Arc::new(Mutex::new(Vec::new())) }
    }

    /// A check, or `None` at once when as many as allowed are running.
    pub fn try_start(&self) -> Option<PasswordCheck> {
        let place = Arc::clone(&self.places).try_acquire_owned().ok()?;
        let memory = self.memory.lock().unwrap_or_else(PoisonError::into_inner).pop().unwrap_or_default();
        Some(PasswordCheck { _place: place, memory, pool: Arc::clone(&self.memory) })
    }
}

impl Drop for PasswordCheck {
    fn drop(&mut self) {
        let memory = std::mem::take(&mut self.memory);
        self.pool.lock().unwrap_or_else(PoisonError::into_inner).push(memory);
    }
}

/// Whether `password` matches a stored PHC string. An unreadable hash matches nothing.
/// With no hash (an unknown name) the password is checked against a throwaway hash, so an
/// unknown name takes as long to refuse as a wrong password.
pub async fn verify_password(password: String, stored: Option<String>, check: PasswordCheck) -> bool {
    let checked = tokio::task::spawn_blocking(move || {
        let mut check = check;
        let known = stored.is_some();
        let stored = stored.unwrap_or_else(|| throwaway_hash().to_owned());
        let matches = matches_hash(&mut check.memory, password.as_bytes(), &stored);
        known && matches
    });
    checked.await.unwrap_or(false)
}

/// What `PasswordVerifier::verify_password` does, in `memory` instead of a fresh allocation:
/// the hash's own algorithm, version, parameters and salt, compared in constant time.
fn matches_hash(memory: &mut Vec<Block>, password: &[u8], stored: &str) -> bool {
    let Ok(hash) = PasswordHash::new(stored) else { return false };
    let (Ok(algorithm), Ok(params)) = (Algorithm::try_from(hash.algorithm.as_str()), Params::try_from(&hash)) else {
        return false;
    };
    let version = hash.version.map_or(Ok(Version::default()), Version::try_from);
    let (Ok(version), Some(salt), Some(expected)) = (version, hash.salt, hash.hash) else { return false };
    let blocks = params.block_count();
    if memory.len() < blocks {
        memory.resize(blocks, Block::default());
    }
    let mut computed = vec![0u8; expected.len()];
    let argon2 = Argon2::new(algorithm, version, params);
    argon2.hash_password_into_with_memory(password, &salt, &mut computed, &mut memory[..blocks]).is_ok()
        && Output::new(&computed).is_ok_and(|computed| computed == expected)
}

fn throwaway_hash() -> &'static str {
    static HASH: OnceLock<String> = OnceLock::new();
    // Hashing fails only when the operating system gives no random salt; then the empty
    // hash refuses at once.
    HASH.get_or_init(|| {
        Argon2::default().hash_password(new_secret().as_bytes()).map(|h| h.to_string()).unwrap_or_default()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_password_matches_its_hash_only() {
        let hash = hash_password("correct horse battery".to_owned()).await.unwrap();
        assert!(hash.starts_with("$argon2id$"), "{hash}");
        let verify = |password: &str, stored: Option<String>| {
            let check = PasswordChecks::new(1).try_start().expect("a check");
            verify_password(password.to_owned(), stored, check)
        };
        assert!(verify("correct horse battery", Some(hash.clone())).await);
        assert!(!verify("correct horse batterY", Some(hash)).await);
        assert!(!verify("anything", Some("not a hash".to_owned())).await);
        assert!(!verify("anything", None).await);
        let other = Argon2::new(Algorithm::Argon2i, Version::V0x10, Params::new(64, 2, 1, Some(16)).unwrap());
        let other = other.hash_password_with_salt(b"its own parameters", &[7; 16]).unwrap().to_string();
        assert!(verify("its own parameters", Some(other.clone())).await, "{other}");
        assert!(!verify("its own parameterz", Some(other)).await);
    }

    #[tokio::test]
    async fn no_more_checks_run_than_allowed_and_a_check_holds_its_place_until_done() {
        let checks = PasswordChecks::new(2);
        let (first, second) = (checks.try_start().expect("one"), checks.try_start().expect("two"));
        assert!(checks.try_start().is_none(), "a third is refused at once");
        drop(first);
        let third = checks.try_start().expect("room again");
        // The request gives up after its check has started: the check runs to its end (an
        // argon2id check takes tens of milliseconds) and keeps its place until then.
        let abandoned = verify_password("guess".to_owned(), None, third);
        assert!(tokio::time::timeout(std::time::Duration::from_millis(1), abandoned).await.is_err());
        drop(second);
        let _free = checks.try_start().expect("the place the other check left");
        assert!(checks.try_start().is_none(), "the abandoned check still holds its place");
    }

    #[test]
    fn secrets_are_fresh_and_stored_as_digests() {
        let (a, b) = (new_secret(), new_secret());
        assert_ne!(a, b);
        assert_eq!((a.len(), digest(&a).len()), (43, 64));
        assert!(same(&a, &a.clone()) && !same(&a, &b) && !same(&a, &a[..42]));
    }
}
