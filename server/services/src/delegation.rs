//! Delegation never exceeds the delegator.
//!
//! No caller may give anyone, themselves included, a right the caller does not hold. Rights
//! reach a user through a role's permissions, a group's roles (and those of the group's
//! ancestors), membership of a group, a superuser group, or a credential for another account.
//! Every service function that creates one of those paths checks it here, so the rule holds
//! for every door (API, UI, CLI, blueprints).
use garrison_model::User;
use garrison_store::Conn;
use garrison_store::{groups as group_store, permissions as perm_store};

use crate::authz::Caller;
use crate::{ServiceError, ServiceResult};

pub(crate) const SUPERUSER_ONLY: &str =
    "Only a superuser may do this: it would make someone a superuser, or act on one.";

/// Refuses unless the caller holds every one of `grants`; `what` says where they come from.
pub(crate) fn require_holds(
    caller: &Caller,
    grants: &[(String, String)],
    what: &str,
) -> ServiceResult<()> {
    match caller.principal.first_missing(grants) {
        None => Ok(()),
        Some((permission, object_pk)) => Err(ServiceError::escalation(if object_pk.is_empty() {
            format!("{what} grants {permission}, which you do not hold; you cannot pass it on.")
        } else {
            format!(
                "{what} grants {permission} on object {object_pk}, which you do not hold; you cannot pass it on."
            )
        })),
    }
}

pub(crate) fn require_superuser(caller: &Caller) -> ServiceResult<()> {
    if caller.principal.is_superuser() {
        Ok(())
    } else {
        Err(ServiceError::escalation(SUPERUSER_ONLY))
    }
}

/// Joining the groups `ids` (or putting a group below them) passes on what they confer: the
/// roles of the groups and of their ancestors, and superuser status if any of them is, or
/// descends from, a superuser group.
pub(crate) async fn require_may_confer_groups(
    conn: &mut Conn,
    caller: &Caller,
    ids: &[i64],
    what: &str,
) -> ServiceResult<()> {
    if ids.is_empty() || caller.principal.is_superuser() {
        return Ok(());
    }
    if !group_store::effectively_superuser(conn, ids)
        .await?
        .is_empty()
    {
        return Err(ServiceError::escalation(SUPERUSER_ONLY));
    }
    let grants = group_store::grants_of(conn, ids).await?;
    require_holds(caller, &grants, what)
}

/// Acting as `target` (setting their password, seeing or setting their token's key, minting
/// a token for them) is holding what they hold: the caller must hold all of it already.
pub(crate) async fn require_may_act_as(
    conn: &mut Conn,
    caller: &Caller,
    target: &User,
) -> ServiceResult<()> {
    if caller.principal.is_superuser() || caller.principal.user_pk() == Some(target.pk) {
        return Ok(());
    }
    if target.is_superuser {
        return Err(ServiceError::escalation(SUPERUSER_ONLY));
    }
    let grants = perm_store::effective_for_user(conn, target.pk).await?;
    require_holds(
        caller,
        &grants,
        &format!("Acting as user {}", target.username),
    )
}
