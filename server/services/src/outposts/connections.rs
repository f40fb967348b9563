//! Service connections: where outposts are deployed (a Docker engine, a Kubernetes cluster).
//! A kubeconfig is a credential: kept sealed, never returned. The state (healthy, version)
//! reads "unknown" until a deployment backend fills it.
use chrono::Utc;
use garrison_model::{
    FieldErrors, ListQuery, Page, ServiceConnection, ServiceConnectionChanges,
    ServiceConnectionKind, ServiceConnectionState,
};
use garrison_store::outposts::service_connections::{self as store, ConnectionRecord};
use garrison_store::outposts::{certificates as cert_store, outposts as outpost_store};
use garrison_store::{Conn, RowRef};
use serde_json::{Map, Value, json};
use uuid::Uuid;

use crate::audit::{self, Audited, ModelRef};
use crate::authz::Caller;
use crate::validate::{self, does_not_exist};
use crate::{ServiceError, ServiceResult, Services, Tx};

#[derive(Clone, Debug, Default)]
pub struct ConnectionFilter {
    /// One kind, or both (`/service_connections/all/`).
    pub kind: Option<ServiceConnectionKind>,
    pub name: Option<String>,
    pub local: Option<bool>,
    pub url: Option<String>,
    pub tls_verification: Option<Uuid>,
    pub tls_authentication: Option<Uuid>,
}

impl Audited for ServiceConnection {
    fn model_ref(&self) -> ModelRef<'_> {
        ModelRef {
            model: self.kind.model(),
            pk: self.pk.to_string(),
            name: &self.name,
        }
    }

    /// Never the kubeconfig: only whether there is one.
    fn audit_view(&self) -> Value {
        json!({
            "name": self.name,
            "local": self.local,
            "url": self.url,
            "tls_verification": self.tls_verification,
            "tls_authentication": self.tls_authentication,
            "has_kubeconfig": self.has_kubeconfig,
            "verify_ssl": self.verify_ssl,
        })
    }
}

fn perm(kind: ServiceConnectionKind, action: &str) -> String {
    kind.model().permission(action)
}

const KINDS: [ServiceConnectionKind; 2] = [
    ServiceConnectionKind::Docker,
    ServiceConnectionKind::Kubernetes,
];

/// A kubeconfig as the Kubernetes client would load it: clusters, contexts and users, and a
/// current context naming one of the contexts.
fn check_kubeconfig(config: &Map<String, Value>) -> Result<(), String> {
    let list = |key: &str| -> Result<&Vec<Value>, String> {
        config
            .get(key)
            .and_then(Value::as_array)
            .filter(|a| !a.is_empty())
            .ok_or_else(|| format!("Invalid kubeconfig: {key:?} must be a non-empty list."))
    };
    list("clusters")?;
    let contexts = list("contexts")?;
    list("users")?;
    if let Some(current) = config.get("current-context") {
        let current = current
            .as_str()
            .ok_or("Invalid kubeconfig: \"current-context\" must be a string.")?;
        let known = contexts
            .iter()
            .any(|c| c.get("name").and_then(Value::as_str) == Some(current));
        if !known {
            return Err(format!(
                "Invalid kubeconfig: current-context {current:?} is not one of its contexts."
            ));
        }
    }
    Ok(())
}

fn check_docker_url(url: &str) -> Result<(), String> {
    let schemes = ["unix://", "tcp://", "http://", "https://", "ssh://"];
    if schemes
        .iter()
        .any(|s| url.starts_with(s) && url.len() > s.len())
        || url.starts_with('/')
    {
        Ok(())
    } else {
        Err("Enter the engine's address: unix:///var/run/docker.sock, tcp://host:2376, https://host:2376, ssh://host or a socket path.".into())
    }
}

impl Services {
    pub async fn list_service_connections(
        &self,
        caller: &Caller,
        query: &ListQuery,
        filter: ConnectionFilter,
    ) -> ServiceResult<Page<ServiceConnection>> {
        let paging = super::paging(query, store::ORDERING, store::DEFAULT_ORDERING)?;
        let kinds: Vec<ServiceConnectionKind> = match filter.kind {
            Some(kind) => vec![kind],
            None => KINDS.to_vec(),
        };
        // One visibility over both kinds: everything, or the objects granted on either.
        let mut only: Option<Vec<String>> = Some(Vec::new());
        let mut refused = None;
        let mut any = false;
        for kind in kinds {
            match super::visible(caller, &perm(kind, "view")) {
                Ok(Some(None)) => {
                    any = true;
                    if filter.kind.is_some() {
                        only = None;
                    } else {
                        // Everything of this kind: handled by filtering on kind below only when
                        // both are global; otherwise list each visible kind's objects.
                        only = only.map(|mut o| {
                            o.push(format!("*{}", kind.as_str()));
                            o
                        });
                    }
                }
                Ok(Some(Some(pks))) => {
                    any = true;
                    if let Some(o) = only.as_mut() {
                        o.extend(pks);
                    }
                }
                Ok(None) => {}
                Err(error) => refused = Some(error),
            }
        }
        if !any {
            return match refused {
                Some(error)
                    if caller
                        .principal
                        .user()
                        .is_some_and(|u| !u.user_type.is_service_account()) =>
                {
                    Err(error)
                }
                _ => Ok(Page::empty(query.page)),
            };
        }
        let mut reader = self.read().await?;
        // `*docker` marks a kind visible as a whole; with both marked, nothing is filtered.
        let (kind_filter, only) = match only {
            None => (filter.kind, None),
            Some(list) => {
                let whole: Vec<ServiceConnectionKind> = KINDS
                    .into_iter()
                    .filter(|k| list.contains(&format!("*{}", k.as_str())))
                    .collect();
                let objects: Vec<String> =
                    list.into_iter().filter(|p| !p.starts_with('*')).collect();
                match whole.len() {
                    2 => (None, None),
                    1 if objects.is_empty() => (Some(whole[0]), None),
                    _ => {
                        // Mixed: whole kinds become their objects' UUIDs.
                        let mut all = objects;
                        for kind in whole {
                            let (rows, _) = store::list(
                                reader.conn(),
                                &store::Filter {
                                    kind: Some(kind),
                                    ..Default::default()
                                },
                                garrison_store::outposts::Paging {
                                    ordering: store::DEFAULT_ORDERING,
                                    limit: i64::MAX as u64,
                                    offset: 0,
                                },
                            )
                            .await?;
                            all.extend(rows.into_iter().map(|r| r.pk.to_string()));
                        }
                        (filter.kind, Some(all))
                    }
                }
            }
        };
        let (items, count) = store::list(
            reader.conn(),
            &store::Filter {
                search: query.search.clone(),
                kind: kind_filter.or(filter.kind),
                only,
                name: filter.name,
                local: filter.local,
                url: filter.url,
                tls_verification: filter.tls_verification,
                tls_authentication: filter.tls_authentication,
            },
            paging,
        )
        .await?;
        Ok(Page {
            items,
            count,
            request: query.page,
        })
    }

    /// The connections among `uuids` the caller may view, in one query: what an outpost's
    /// summary shows of its integration.
    pub async fn service_connection_summaries(
        &self,
        caller: &Caller,
        uuids: &[Uuid],
    ) -> ServiceResult<Vec<ServiceConnection>> {
        if uuids.is_empty() {
            return Ok(Vec::new());
        }
        let mut reader = self.read().await?;
        Ok(store::many(reader.conn(), uuids)
            .await?
            .into_iter()
            .filter(|c| {
                caller
                    .principal
                    .has_on(&perm(c.kind, "view"), &c.pk.to_string())
            })
            .collect())
    }

    pub async fn get_service_connection(
        &self,
        caller: &Caller,
        pk: Uuid,
        kind: Option<ServiceConnectionKind>,
    ) -> ServiceResult<ServiceConnection> {
        let mut reader = self.read().await?;
        Ok(self
            .get_connection_on(reader.conn(), caller, pk, kind)
            .await?
            .connection)
    }

    async fn get_connection_on(
        &self,
        conn: &mut Conn,
        caller: &Caller,
        pk: Uuid,
        kind: Option<ServiceConnectionKind>,
    ) -> ServiceResult<ConnectionRecord> {
        let record = store::get(conn, pk)
            .await?
            .filter(|r| kind.is_none_or(|k| k == r.connection.kind))
            .ok_or_else(|| ServiceError::not_found("service connection", pk))?;
        let view = perm(record.connection.kind, "view");
        caller.principal.visibility(&view)?;
        if !caller.principal.has_on(&view, &pk.to_string()) {
            return Err(ServiceError::not_found("service connection", pk));
        }
        Ok(record)
    }

    /// The connection's health as the deployment backend last saw it: "unknown" (not healthy,
    /// no version) until the backends fill it.
    pub async fn service_connection_state(
        &self,
        caller: &Caller,
        pk: Uuid,
    ) -> ServiceResult<ServiceConnectionState> {
        self.get_service_connection(caller, pk, None).await?;
        let cached = self
            .bus()
            .get(&format!("service-connection-state:{pk}"))
            .await?;
        Ok(cached
            .and_then(|text| serde_json::from_str(&text).ok())
            .unwrap_or_default())
    }

    async fn check_connection(
        &self,
        conn: &mut Conn,
        caller: &Caller,
        after: &ServiceConnection,
        kubeconfig: Option<&Map<String, Value>>,
        errors: &mut FieldErrors,
    ) -> ServiceResult<()> {
        if store::name_taken(conn, &after.name, Some(after.pk)).await? {
            errors.add("name", "service connection with this name already exists.");
        }
        match after.kind {
            ServiceConnectionKind::Docker => {
                if let Err(message) = check_docker_url(&after.url) {
                    errors.add("url", message);
                }
                for (field, cert) in [
                    ("tls_verification", after.tls_verification),
                    ("tls_authentication", after.tls_authentication),
                ] {
                    if let Some(uuid) = cert {
                        let visible = caller.principal.has_on(
                            &garrison_model::models::CERTIFICATE_KEYPAIR.permission("view"),
                            &uuid.to_string(),
                        );
                        if !visible || cert_store::existing(conn, &[uuid]).await?.is_empty() {
                            errors.add(field, does_not_exist(&[uuid]).unwrap_or_default());
                        }
                    }
                }
            }
            ServiceConnectionKind::Kubernetes => match kubeconfig {
                Some(config) if config.is_empty() && !after.local => errors.add(
                    "kubeconfig",
                    "You can only use an empty kubeconfig when connecting to a local cluster.",
                ),
                Some(config) if !config.is_empty() => {
                    if let Err(message) = check_kubeconfig(config) {
                        errors.add("kubeconfig", message);
                    }
                }
                None if !after.has_kubeconfig && !after.local => errors.add(
                    "kubeconfig",
                    "A kubeconfig is required unless the connection is local.",
                ),
                _ => {}
            },
        }
        Ok(())
    }

    fn connection_record(
        &self,
        connection: ServiceConnection,
        kubeconfig: Option<&Map<String, Value>>,
        kept: Option<String>,
    ) -> ServiceResult<ConnectionRecord> {
        let kubeconfig_sealed = match kubeconfig {
            Some(config) if config.is_empty() => None,
            Some(config) => Some(
                self.secrets()
                    .seal(&Value::Object(config.clone()).to_string())?,
            ),
            None => kept,
        };
        Ok(ConnectionRecord {
            connection: ServiceConnection {
                has_kubeconfig: kubeconfig_sealed.is_some(),
                ..connection
            },
            kubeconfig_sealed,
        })
    }

    pub async fn create_service_connection(
        &self,
        caller: &Caller,
        kind: ServiceConnectionKind,
        changes: ServiceConnectionChanges,
    ) -> ServiceResult<ServiceConnection> {
        one_tx!(self, |tx| self
            .create_service_connection_in(&mut tx, caller, kind, changes))
    }

    pub async fn create_service_connection_in(
        &self,
        tx: &mut Tx,
        caller: &Caller,
        kind: ServiceConnectionKind,
        changes: ServiceConnectionChanges,
    ) -> ServiceResult<ServiceConnection> {
        caller.principal.require(&perm(kind, "add"))?;
        let mut errors = FieldErrors::new();
        let name = validate::text(&mut errors, "name", changes.name.as_ref(), true, false, 255);
        if kind == ServiceConnectionKind::Docker && changes.url.is_none() {
            errors.add("url", validate::REQUIRED);
        }
        let connection = ServiceConnection {
            pk: Uuid::new_v4(),
            name: name.unwrap_or_default().to_owned(),
            kind,
            local: changes.local.unwrap_or(false),
            url: changes.url.clone().unwrap_or_default(),
            tls_verification: changes.tls_verification.flatten(),
            tls_authentication: changes.tls_authentication.flatten(),
            has_kubeconfig: false,
            verify_ssl: changes.verify_ssl.unwrap_or(true),
        };
        // A Kubernetes connection created without a kubeconfig means in-cluster (`{}`).
        let empty = Map::new();
        let kubeconfig = changes.kubeconfig.as_ref().or(match kind {
            ServiceConnectionKind::Kubernetes => Some(&empty),
            ServiceConnectionKind::Docker => None,
        });
        self.check_connection(tx.conn(), caller, &connection, kubeconfig, &mut errors)
            .await?;
        errors.into_result()?;
        let record = self.connection_record(connection, kubeconfig, None)?;
        store::upsert(tx, &record, Utc::now()).await?;
        audit::created(tx, caller, &record.connection).await?;
        Ok(record.connection)
    }

    pub async fn update_service_connection(
        &self,
        caller: &Caller,
        pk: Uuid,
        kind: Option<ServiceConnectionKind>,
        changes: ServiceConnectionChanges,
        partial: bool,
    ) -> ServiceResult<ServiceConnection> {
        one_tx!(self, |tx| self.update_service_connection_in(
            &mut tx, caller, pk, kind, changes, partial
        ))
    }

    pub async fn update_service_connection_in(
        &self,
        tx: &mut Tx,
        caller: &Caller,
        pk: Uuid,
        kind: Option<ServiceConnectionKind>,
        changes: ServiceConnectionChanges,
        partial: bool,
    ) -> ServiceResult<ServiceConnection> {
        tx.lock_row(RowRef::ServiceConnection(pk)).await?;
        let before = self.get_connection_on(tx.conn(), caller, pk, kind).await?;
        let kind = before.connection.kind;
        caller
            .principal
            .require_on(&perm(kind, "change"), &pk.to_string())?;
        let mut errors = FieldErrors::new();
        let name = validate::text(
            &mut errors,
            "name",
            changes.name.as_ref(),
            !partial,
            false,
            255,
        );
        let mut after = before.connection.clone();
        if let Some(name) = name {
            after.name = name.to_owned();
        }
        if let Some(v) = changes.local {
            after.local = v;
        }
        if let Some(v) = &changes.url {
            after.url = v.clone();
        }
        if let Some(v) = changes.tls_verification {
            after.tls_verification = v;
        }
        if let Some(v) = changes.tls_authentication {
            after.tls_authentication = v;
        }
        if let Some(v) = changes.verify_ssl {
            after.verify_ssl = v;
        }
        // Validated only when the credential changes (authentik's newest behaviour).
        self.check_connection(
            tx.conn(),
            caller,
            &after,
            changes.kubeconfig.as_ref(),
            &mut errors,
        )
        .await?;
        errors.into_result()?;
        let record = self.connection_record(
            after,
            changes.kubeconfig.as_ref(),
            before.kubeconfig_sealed.clone(),
        )?;
        store::upsert(tx, &record, Utc::now()).await?;
        audit::updated(tx, caller, &before.connection, &record.connection).await?;
        let affected = outpost_store::using_connection(tx.conn(), pk).await?;
        self.outposts_changed_in(tx, caller, &affected).await?;
        Ok(record.connection)
    }

    pub async fn delete_service_connection(
        &self,
        caller: &Caller,
        pk: Uuid,
        kind: Option<ServiceConnectionKind>,
    ) -> ServiceResult<()> {
        one_tx!(self, |tx| self
            .delete_service_connection_in(&mut tx, caller, pk, kind))
    }

    pub async fn delete_service_connection_in(
        &self,
        tx: &mut Tx,
        caller: &Caller,
        pk: Uuid,
        kind: Option<ServiceConnectionKind>,
    ) -> ServiceResult<()> {
        tx.lock_row(RowRef::ServiceConnection(pk)).await?;
        let before = self.get_connection_on(tx.conn(), caller, pk, kind).await?;
        caller
            .principal
            .require_on(&perm(before.connection.kind, "delete"), &pk.to_string())?;
        let affected = outpost_store::using_connection(tx.conn(), pk).await?;
        store::delete(tx, pk).await?;
        audit::deleted(tx, caller, &before.connection).await?;
        self.outposts_changed_in(tx, caller, &affected).await?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kubeconfigs_need_clusters_contexts_users_and_a_known_current_context() {
        let good = json!({
            "clusters": [{"name": "c", "cluster": {"server": "https://127.0.0.1:6443"}}],
            "contexts": [{"name": "ctx", "context": {"cluster": "c", "user": "u"}}],
            "users": [{"name": "u", "user": {"token": "t"}}],
            "current-context": "ctx"
        });
        assert!(check_kubeconfig(good.as_object().unwrap()).is_ok());
        let mut wrong = good.clone();
        wrong["current-context"] = json!("other");
        assert!(
            check_kubeconfig(wrong.as_object().unwrap())
                .unwrap_err()
                .contains("other")
        );
        assert!(check_kubeconfig(json!({"clusters": []}).as_object().unwrap()).is_err());
        assert!(check_docker_url("unix:///var/run/docker.sock").is_ok());
        assert!(check_docker_url("docker.example").is_err());
    }
}
