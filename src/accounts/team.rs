//! Managing team members: the rules (the last admin stays, nobody disables themselves) and
//! their audit entries. Callers have already checked that the actor is an admin.

use chrono::{DateTime, Utc};
use serde_json::json;
use sqlx::SqlitePool;

use crate::accounts::audit::{self, Actor, actions};
use crate::accounts::auth::password;
use crate::accounts::users::{self, NewUser, UserRecord};
use crate::error::{AppError, Invalid};
use crate::model::Role;
use crate::platform::email::EmailAddress;

pub struct NewMember<'a> {
    pub email: &'a str,
    pub name: &'a str,
    pub role: Role,
    pub password: &'a str,
}

pub async fn add_member(
    db: &SqlitePool,
    now: DateTime<Utc>,
    actor: &Actor,
    input: NewMember<'_>,
) -> Result<i64, AppError> {
    let email = EmailAddress::parse(input.email)?;
    let name = match input.name.trim() {
        "" => email.local_part().to_string(),
        name => name.to_string(),
    };
    password::check_strength(input.password, &[email.as_str(), &name])?;
    if users::find_by_email(db, email.as_str()).await?.is_some() {
        return Err(Invalid::EmailTaken.into());
    }
    let hash = password::hash(input.password.to_string()).await?;
    let mut tx = db.begin().await?;
    let id = users::insert(
        &mut *tx,
        NewUser {
            email: &email,
            name: &name,
            password_hash: &hash,
            role: input.role,
        },
        now,
    )
    .await?;
    audit::record(
        &mut *tx,
        now,
        actor
            .event(actions::USER_ADDED)
            .target(email.as_str())
            .details(json!({ "role": input.role })),
    )
    .await?;
    tx.commit().await?;
    Ok(id)
}

async fn target(db: &SqlitePool, id: i64) -> Result<UserRecord, AppError> {
    users::find_by_id(db, id).await?.ok_or(AppError::NotFound)
}

pub async fn change_role(
    db: &SqlitePool,
    now: DateTime<Utc>,
    actor: &Actor,
    user_id: i64,
    role: Role,
) -> Result<(), AppError> {
    let user = target(db, user_id).await?;
    if user.role == role {
        return Ok(());
    }
    let mut tx = db.begin().await?;
    if user.role == Role::Admin
        && !user.disabled
        && users::count_active_admins(&mut *tx).await? <= 1
    {
        return Err(Invalid::LastAdmin.into());
    }
    users::set_role(&mut *tx, user.id, role, now).await?;
    audit::record(
        &mut *tx,
        now,
        actor
            .event(actions::USER_ROLE_CHANGED)
            .target(&user.email)
            .details(json!({ "from": user.role, "to": role })),
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

pub async fn set_disabled(
    db: &SqlitePool,
    now: DateTime<Utc>,
    actor: &Actor,
    user_id: i64,
    disabled: bool,
) -> Result<(), AppError> {
    let user = target(db, user_id).await?;
    if actor.user.as_ref().is_some_and(|me| me.id == user.id) {
        return Err(Invalid::CannotChangeSelf.into());
    }
    if user.disabled == disabled {
        return Ok(());
    }
    let mut tx = db.begin().await?;
    if disabled && user.role == Role::Admin && users::count_active_admins(&mut *tx).await? <= 1 {
        return Err(Invalid::LastAdmin.into());
    }
    users::set_disabled(&mut *tx, user.id, disabled, now).await?;
    let action = if disabled {
        actions::USER_DISABLED
    } else {
        actions::USER_ENABLED
    };
    audit::record(&mut *tx, now, actor.event(action).target(&user.email)).await?;
    tx.commit().await?;
    Ok(())
}

pub async fn reset_password(
    db: &SqlitePool,
    now: DateTime<Utc>,
    actor: &Actor,
    user_id: i64,
    new_password: &str,
) -> Result<(), AppError> {
    let user = target(db, user_id).await?;
    password::check_strength(new_password, &[&user.email, &user.name])?;
    let hash = password::hash(new_password.to_string()).await?;
    let mut tx = db.begin().await?;
    users::set_password_hash(&mut *tx, user.id, &hash, now).await?;
    audit::record(
        &mut *tx,
        now,
        actor
            .event(actions::USER_PASSWORD_RESET)
            .target(&user.email),
    )
    .await?;
    tx.commit().await?;
    Ok(())
}
