//! The secrets of access control and how they are kept: random session cookies, API tokens
//! and CSRF tokens (32 random bytes each), stored only as their SHA-256; passwords stored as
//! argon2id hashes, checked off the async threads.

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use std::sync::OnceLock;

use argon2::Argon2;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use sha2::{Digest, Sha256};

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
        let salt = SaltString::encode_b64(&rand::random::<[u8; 16]>()).map_err(|e| anyhow::anyhow!("salt: {e}"))?;
        let hash = Argon2::default().hash_password(password.as_bytes(), &salt).map_err(|e| anyhow::anyhow!("{e}"))?;
        Ok(hash.to_string())
    })
    .await?
}

/// Whether `password` matches a stored PHC string. An unreadable hash matches nothing.
/// With no hash (an unknown name) the password is checked against a throwaway hash, so an
/// unknown name takes as long to refuse as a wrong password.
pub async fn verify_password(password: String, stored: Option<String>) -> bool {
    let checked = tokio::task::spawn_blocking(move || {
        let known = stored.is_some();
        let stored = stored.unwrap_or_else(|| throwaway_hash().to_owned());
        let matches = PasswordHash::new(&stored)
            .is_ok_and(|hash| Argon2::default().verify_password(password.as_bytes(), &hash).is_ok());
        known && matches
    });
    checked.await.unwrap_or(false)
}

fn throwaway_hash() -> &'static str {
    static HASH: OnceLock<String> = OnceLock::new();
    // Neither step fails on these inputs; were one to, the empty hash refuses at once.
    HASH.get_or_init(|| {
        let salt = SaltString::encode_b64(&rand::random::<[u8; 16]>()).ok();
        let hash =
            |salt: SaltString| Argon2::default().hash_password(new_secret().as_bytes(), &salt).map(|h| h.to_string());
        salt.and_then(|salt| hash(salt).ok()).unwrap_or_default()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_password_matches_its_hash_only() {
        let hash = hash_password("correct horse battery".to_owned()).await.unwrap();
        assert!(hash.starts_with("$argon2id$"), "{hash}");
        assert!(verify_password("correct horse battery".to_owned(), Some(hash.clone())).await);
        assert!(!verify_password("correct horse batterY".to_owned(), Some(hash)).await);
        assert!(!verify_password("anything".to_owned(), Some("not a hash".to_owned())).await);
        assert!(!verify_password("anything".to_owned(), None).await);
    }

    #[test]
    fn secrets_are_fresh_and_stored_as_digests() {
        let (a, b) = (new_secret(), new_secret());
        assert_ne!(a, b);
        assert_eq!((a.len(), digest(&a).len()), (43, 64));
        assert!(same(&a, &a.clone()) && !same(&a, &b) && !same(&a, &a[..42]));
    }
}
