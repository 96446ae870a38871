//! Making accounts and tokens: the checks a person gets told about, then the store.

use super::secret::{digest, hash_password, new_secret};
use super::store::{AccessStore, NewUser};
use super::{AccessError, Role};
use crate::db::Db;

pub const MIN_PASSWORD: usize = 10;

/// Adds a user with an argon2id hash of `password`; returns their id.
pub async fn add_user(
    db: &Db,
    name: &str,
    role: Role,
    password: &str,
    operator_id: Option<i64>,
) -> Result<i64, AccessError> {
    check_name(name)?;
    check_link(role, operator_id)?;
    if password.chars().count() < MIN_PASSWORD {
        return Err(AccessError::ShortPassword(MIN_PASSWORD));
    }
    let password_hash = hash_password(password.to_owned()).await?;
    let user = db.add_user(&NewUser { name, role, operator_id, password_hash: &password_hash }).await?;
    Ok(user.id)
}

/// Creates an API token and returns it: the only time it is ever seen, as only its digest is kept.
pub async fn create_token(db: &Db, role: Role, label: &str, operator_id: Option<i64>) -> Result<String, AccessError> {
    let label = label.trim();
    if label.is_empty() || label.chars().count() > 100 {
        return Err(AccessError::BadLabel);
    }
    check_link(role, operator_id)?;
    let token = new_secret();
    db.add_token(label, role, operator_id, &digest(&token)).await?;
    Ok(token)
}

fn check_name(name: &str) -> Result<(), AccessError> {
    let length = name.chars().count();
    let printable = !name.chars().any(char::is_control) && name.trim() == name;
    if (1..=64).contains(&length) && printable { Ok(()) } else { Err(AccessError::BadName) }
}

/// Operators are linked to their roster entry; nobody else is.
fn check_link(role: Role, operator_id: Option<i64>) -> Result<(), AccessError> {
    if (role == Role::Operator) == operator_id.is_some() { Ok(()) } else { Err(AccessError::OperatorLink) }
}
