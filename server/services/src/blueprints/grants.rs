//! An entry's `permissions:`: object permissions on the entry's object, granted to roles.
//!
//! ```yaml
//! permissions:
//!   - permission: view_group          # or authentik_core.view_group
//!     role: !KeyOf auditors
//! ```
//!
//! As in authentik, grants are additive (never revoked) and are (re)applied on every run,
//! `state: created` entries that were not rewritten included. They go through the role
//! service's core, so the author needs `assign_role_permissions` on the role and must hold each
//! permission on the object (delegation never exceeds the delegator). A grant the role already
//! holds writes nothing, so a re-apply stays "unchanged".
//!
//! Grants to a `user:` are refused, naming the entry: authentik gives them to the user's own
//! managed role, which Garrison does not have; giving the user a group with a role does the same.
use garrison_blueprint::Value as BpValue;
use garrison_store::permissions as perm_store;
use garrison_store::roles as role_store;
use serde_json::{Value, json};
use uuid::Uuid;

use super::registry::Object;
use super::{EntryError, FieldChange};
use crate::authz::Caller;
use crate::{Services, Tx};

/// One resolved item of an entry's `permissions:`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) struct Grant {
    /// As written: `app_label.codename` or a codename of the entry's model's app.
    pub permission: String,
    pub role: Uuid,
}

/// Reads one resolved item: `permission` and `role`; `user` is refused.
pub(super) fn parse_grant(
    permission: &BpValue,
    user: Option<&BpValue>,
    role: Option<&BpValue>,
) -> Result<Grant, String> {
    let BpValue::Str(permission) = permission else {
        return Err(format!(
            "permission: must be a string, found {}",
            permission.python_type()
        ));
    };
    if user.is_some_and(|user| !matches!(user, BpValue::Null)) {
        return Err(format!(
            "permission {permission}: granting to a user is not supported (give the user a group \
             with a role, and grant to the role)"
        ));
    }
    let role = match role {
        Some(BpValue::Str(text)) => Uuid::parse_str(text.trim())
            .map_err(|_| format!("permission {permission}: role: `{text}` is not a role's pk"))?,
        Some(other) if !matches!(other, BpValue::Null) => {
            return Err(format!(
                "permission {permission}: role: must be a role's pk, found {}",
                other.python_type()
            ));
        }
        _ => {
            return Err(format!(
                "permission {permission}: role: This field is required."
            ));
        }
    };
    Ok(Grant {
        permission: permission.trim().to_owned(),
        role,
    })
}

impl Services {
    /// Grants `grants` on `object` to their roles; the grants a role did not hold already, as
    /// field changes (`permissions (role NAME)`: old → new).
    pub(super) async fn grant_entry_permissions(
        &self,
        tx: &mut Tx,
        caller: &Caller,
        object: &Object,
        grants: &[Grant],
    ) -> Result<Vec<FieldChange>, EntryError> {
        let object_pk = object.pk_text();
        let app_label = object.kind().model().app_label;
        let mut changes = Vec::new();
        for grant in grants {
            let permission = if grant.permission.contains('.') {
                grant.permission.clone()
            } else {
                format!("{app_label}.{}", grant.permission)
            };
            let Some((role_id, role)) = role_store::get(tx.conn(), grant.role).await? else {
                return Err(EntryError::Failed(format!(
                    "permission {permission}: role {} does not exist",
                    grant.role
                )));
            };
            let held: Vec<String> = perm_store::grants_of_roles(tx.conn(), &[role_id])
                .await?
                .into_iter()
                .filter(|(_, on)| *on == object_pk)
                .map(|(held, _)| held)
                .collect();
            if held.contains(&permission) {
                continue;
            }
            // The core checks the right to assign and that the author holds the permission.
            self.change_role_permissions_in(
                tx,
                caller,
                grant.role,
                std::slice::from_ref(&permission),
                Some(&object_pk),
                true,
            )
            .await?;
            let mut after = held.clone();
            after.push(permission);
            after.sort();
            changes.push(FieldChange {
                field: format!("permissions (role {})", role.name),
                old: json!(held),
                new: Value::from(after),
            });
        }
        Ok(changes)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grants_name_a_permission_and_a_role_never_a_user() {
        let role = Uuid::new_v4();
        let grant = parse_grant(
            &BpValue::Str("view_group".into()),
            None,
            Some(&BpValue::Str(role.to_string())),
        )
        .expect("a role grant");
        assert_eq!(grant.permission, "view_group");
        assert_eq!(grant.role, role);

        let user = parse_grant(
            &BpValue::Str("view_group".into()),
            Some(&BpValue::Int(3)),
            None,
        )
        .unwrap_err();
        assert!(
            user.contains("granting to a user is not supported"),
            "{user}"
        );
        let missing = parse_grant(&BpValue::Str("view_group".into()), None, None).unwrap_err();
        assert!(
            missing.contains("role: This field is required."),
            "{missing}"
        );
        let bad = parse_grant(
            &BpValue::Str("view_group".into()),
            None,
            Some(&BpValue::Str("admins".into())),
        )
        .unwrap_err();
        assert!(bad.contains("is not a role's pk"), "{bad}");
    }
}
