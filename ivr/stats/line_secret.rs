//! The line's own secret, mixed into the statistics keys beside the webhook secrets: a
//! line on Asterisk alone has no webhook secret, and without one a reader of the database
//! could recompute a caller's hash from the stored daily key.
//!
//! `IVR_LINE_SECRET` when set (the same on every instance). Otherwise, on a line configured
//! for Asterisk (`IVR_AGI_LISTEN` set) that has no webhook secret, one is made once at
//! random into `IVR_DATA_DIR/line-secret` and read back from there by every instance that
//! shares the folder; instances with folders of their own must be given `IVR_LINE_SECRET`,
//! or each mixes its own and a repeat caller is recognised only by the instance they
//! reached before. A line with a webhook secret keeps the keys it had: a secret made per
//! folder would unlink a call's webhooks answered by different instances.

use std::io::Write;
use std::path::Path;

use crate::config::Settings;

/// The file the secret is kept in, inside `IVR_DATA_DIR`.
pub const FILE: &str = "line-secret";

/// The line's secret, if it has one: set, read, or made now.
pub fn line_secret(settings: &Settings) -> Option<String> {
    if let Some(secret) = &settings.line_secret {
        return Some(secret.clone());
    }
    let webhook_secret = settings.twilio_auth_token.is_some() || settings.jambonz_webhook_secret.is_some();
    if !settings.asterisk.configured || webhook_secret {
        return None;
    }
    match read_or_make(&settings.data_dir.join(FILE)) {
        Ok(secret) => Some(secret),
        Err(error) => {
            tracing::warn!(%error, "cannot keep the line secret in IVR_DATA_DIR: set IVR_LINE_SECRET");
            None
        }
    }
}

fn read_or_make(path: &Path) -> std::io::Result<String> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    match options.open(path) {
        Ok(mut file) => {
            let secret = hex::encode(rand::random::<[u8; 32]>());
            file.write_all(secret.as_bytes())?;
            file.sync_all()?;
            tracing::warn!(
                "made the line secret (IVR_DATA_DIR/{FILE}): give the same to every instance (IVR_LINE_SECRET)"
            );
            Ok(secret)
        }
        Err(error) if error.kind() == std::io::ErrorKind::AlreadyExists => {
            let secret = std::fs::read_to_string(path)?.trim().to_owned();
            if secret.is_empty() { Err(std::io::Error::other("the line secret file is empty")) } else { Ok(secret) }
        }
        Err(error) => Err(error),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_secret_is_made_once_and_read_back() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("data").join(FILE);
        let made = read_or_make(&path).unwrap();
        assert_eq!(made.len(), 64);
        assert_eq!(read_or_make(&path).unwrap(), made, "read back, not made again");
        std::fs::write(&path, "").unwrap();
        assert!(read_or_make(&path).is_err(), "an empty file is an error, not an empty secret");
    }
}
