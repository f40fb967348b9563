//! Server functions for outposts and what they serve: providers, applications and service
//! connections (the "Integrations" pages). Each identifies the caller and makes one service
//! call; a list that shows more than its objects at a glance (an outpost's health, the names
//! of what it refers to) adds those reads, so the page renders from one request.
//!
//! Provider settings hold secrets (a proxy's client and cookie secrets, a RADIUS shared
//! secret): they never leave the server through these functions, whose results are embedded
//! in the page for hydration.
use chrono::{DateTime, Utc};
use garrison_model::{
    Application, InstanceHealth, InstanceTrack, Outpost, Page, Provider, ProviderKind,
    ServiceConnection, ServiceConnectionState,
};
use leptos::prelude::*;
use leptos::server_fn::codec::GetUrl;
use serde::{Deserialize, Serialize};

use super::UiError;

#[cfg(feature = "ssr")]
use {
    super::{list_query, parse_checkbox, ssr},
    garrison_model::{
        ApplicationChanges, FieldErrors, ListQuery, OutpostChanges, OutpostConfig, ProviderChanges,
        ProviderSettings, ServiceConnectionChanges, ServiceConnectionKind,
    },
    serde_json::{Map, Value},
    uuid::Uuid,
};

/// One outpost as the list shows it: what it serves, where it is deployed, and what its
/// instances reported in the last 15 s.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct OutpostRow {
    pub outpost: Outpost,
    pub provider_names: Vec<String>,
    pub connection_name: Option<String>,
    pub instances: Vec<InstanceHealth>,
}

/// An outpost's instances with the server's clock at the time they were read, so "seen 3 s
/// ago" renders the same on the server and in the hydrated page.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct InstancesNow {
    pub instances: Vec<InstanceHealth>,
    pub now: DateTime<Utc>,
    /// The last hour, one track per instance, for the health timeline.
    pub since: DateTime<Utc>,
    pub timeline: Vec<InstanceTrack>,
}

/// A provider as a form offers it: no settings, so no secrets.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ProviderChoice {
    pub pk: i64,
    pub name: String,
    pub kind: ProviderKind,
}

/// An outpost's token, revealed on request, with the address instances reach this server at.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct DeployToken {
    pub key: String,
    pub origin: String,
}

/// A service connection with what its deployment backend last learnt about it, or why that
/// could not be read.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct IntegrationRow {
    pub connection: ServiceConnection,
    pub state: Result<ServiceConnectionState, String>,
}

// ---------------------------------------------------------------------------------------------
// Helpers (server only)
// ---------------------------------------------------------------------------------------------

/// Where instances reach this server when the request does not say.
#[cfg(feature = "ssr")]
const DEFAULT_ORIGIN: &str = "http://localhost:9000";

#[cfg(feature = "ssr")]
fn invalid(field: &str, message: impl Into<String>) -> UiError {
    UiError::Invalid(FieldErrors::single(field, message))
}

/// A path's UUID; anything else names no object.
#[cfg(feature = "ssr")]
fn uuid_of(text: &str, what: &str) -> Result<Uuid, UiError> {
    Uuid::parse_str(text.trim()).map_err(|_| UiError::Message(format!("No {what} {text}.")))
}

/// An optional reference from a select or text input: empty means none.
#[cfg(feature = "ssr")]
fn optional_uuid(text: &str, field: &str, errors: &mut FieldErrors) -> Option<Uuid> {
    let text = text.trim();
    if text.is_empty() {
        return None;
    }
    match Uuid::parse_str(text) {
        Ok(uuid) => Some(uuid),
        Err(_) => {
            errors.add(field, format!("{text:?} is not a UUID."));
            None
        }
    }
}

/// The checked providers (`providers[]`); none checked sends no field at all.
#[cfg(feature = "ssr")]
fn provider_pks(values: Option<Vec<String>>, errors: &mut FieldErrors) -> Vec<i64> {
    let mut pks = Vec::new();
    for value in values.unwrap_or_default() {
        match value.trim().parse::<i64>() {
            Ok(pk) => pks.push(pk),
            Err(_) => errors.add("providers", format!("{value:?} is not a provider.")),
        }
    }
    pks
}

#[cfg(feature = "ssr")]
fn provider_kind(text: &str, field: &str, errors: &mut FieldErrors) -> Option<ProviderKind> {
    let kind = ProviderKind::parse(text.trim());
    if kind.is_none() {
        errors.add(field, format!("\"{text}\" is not a valid choice."));
    }
    kind
}

/// A JSON object typed into a textarea; what is wrong with it comes back on `field`.
#[cfg(feature = "ssr")]
fn json_object(text: &str, field: &str) -> Result<Map<String, Value>, UiError> {
    match serde_json::from_str::<Value>(text) {
        Ok(Value::Object(map)) => Ok(map),
        Ok(_) => Err(invalid(field, "Expected a JSON object ({ … }).")),
        Err(e) => Err(invalid(field, format!("Not valid JSON: {e}."))),
    }
}

/// Every row a caller may see, for choices in forms.
#[cfg(feature = "ssr")]
fn every_row() -> ListQuery {
    ListQuery {
        page: garrison_model::PageRequest {
            page: 1,
            page_size: garrison_model::listing_limits::MAX_PAGE_SIZE,
        },
        search: None,
        ordering: None,
    }
}

/// This server's origin as the browser reached it (`Host`, and `https` behind TLS or when a
/// proxy says so): where an outpost deployed by this operator finds the server.
#[cfg(feature = "ssr")]
fn request_origin() -> String {
    use_context::<http::request::Parts>()
        .and_then(|parts| garrison_http::origin(&parts.headers, &parts.uri))
        .map(|origin| match origin.strip_prefix("http://") {
            // Served over TLS directly (secure cookies) even when no proxy says so.
            Some(host) if ssr::secure_cookies() => format!("https://{host}"),
            _ => origin,
        })
        .unwrap_or_else(|| DEFAULT_ORIGIN.into())
}

/// The provider with its secret fields blanked: it is about to be sent to the browser.
#[cfg(feature = "ssr")]
fn without_secrets(mut provider: Provider) -> Provider {
    let mut settings = provider.settings.to_map();
    for field in ProviderSettings::secret_fields(provider.kind) {
        settings.insert((*field).to_owned(), Value::String(String::new()));
    }
    provider.settings = ProviderSettings::from_map(provider.kind, settings)
        .unwrap_or_else(|_| ProviderSettings::defaults(provider.kind));
    provider
}

/// The kind's own fields the provider forms offer; the others keep their defaults (or, on
/// an update, their current values). Fields of other kinds are ignored: the create form
/// shows every kind's fields until the page has hydrated.
#[cfg(feature = "ssr")]
fn kind_settings(kind: ProviderKind, inputs: KindInputs) -> Map<String, Value> {
    let fields: Vec<(&str, Option<String>)> = match kind {
        ProviderKind::Proxy => vec![
            ("external_host", inputs.external_host),
            ("internal_host", inputs.internal_host),
            ("mode", inputs.mode),
        ],
        ProviderKind::Ldap => vec![("base_dn", inputs.base_dn)],
        ProviderKind::Radius => vec![("client_networks", inputs.client_networks)],
        ProviderKind::Rac => Vec::new(),
    };
    fields
        .into_iter()
        .filter_map(|(name, value)| {
            value.map(|v| (name.to_owned(), Value::String(v.trim().to_owned())))
        })
        .collect()
}

/// The kind-specific inputs of the provider forms.
#[cfg(feature = "ssr")]
struct KindInputs {
    external_host: Option<String>,
    internal_host: Option<String>,
    mode: Option<String>,
    base_dn: Option<String>,
    client_networks: Option<String>,
}

/// What the provider forms submit: the kind, and the changes (name, authorization flow and
/// the kind's own fields).
#[cfg(feature = "ssr")]
fn provider_changes(
    kind: &str,
    name: String,
    authorization_flow: &str,
    inputs: KindInputs,
) -> Result<(ProviderKind, ProviderChanges), UiError> {
    let mut errors = FieldErrors::new();
    let kind = provider_kind(kind, "kind", &mut errors);
    let authorization_flow = optional_uuid(authorization_flow, "authorization_flow", &mut errors);
    errors.into_result().map_err(UiError::Invalid)?;
    let kind = kind.ok_or_else(|| invalid("kind", "Choose a kind."))?;
    Ok((
        kind,
        ProviderChanges {
            name: Some(name),
            authorization_flow: Some(authorization_flow),
            settings: kind_settings(kind, inputs),
            ..Default::default()
        },
    ))
}

// ---------------------------------------------------------------------------------------------
// Outposts
// ---------------------------------------------------------------------------------------------

#[server(prefix = "/ui-fn", endpoint = "list_outposts", input = GetUrl)]
pub async fn list_outposts(page: u64, search: String) -> Result<Page<OutpostRow>, UiError> {
    let (services, caller) = ssr::caller("/outposts")?;
    let (outposts, providers) = services
        .list_outposts_with_providers(&caller, &list_query(page, search), Default::default())
        .await?;
    // Names are a convenience: a caller who may see outposts but not providers or connections
    // still gets the list, with references by number. Names, like health, are read for the
    // whole page at once.
    let provider_names: std::collections::BTreeMap<i64, String> =
        providers.into_iter().map(|p| (p.pk, p.name)).collect();
    let mut connection_uuids: Vec<Uuid> = outposts
        .items
        .iter()
        .filter_map(|o| o.service_connection)
        .collect();
    connection_uuids.sort_unstable();
    connection_uuids.dedup();
    let connection_names: std::collections::BTreeMap<Uuid, String> = services
        .service_connection_summaries(&caller, &connection_uuids)
        .await
        .map(|found| found.into_iter().map(|c| (c.pk, c.name)).collect())
        .unwrap_or_default();
    let mut health = services.outposts_health(&caller, &outposts.items).await?;
    let mut rows = Vec::with_capacity(outposts.items.len());
    for outpost in outposts.items {
        let instances = health.remove(&outpost.pk).unwrap_or_default();
        rows.push(OutpostRow {
            provider_names: outpost
                .providers
                .iter()
                .map(|pk| {
                    provider_names
                        .get(pk)
                        .cloned()
                        .unwrap_or_else(|| format!("provider {pk}"))
                })
                .collect(),
            connection_name: outpost.service_connection.map(|uuid| {
                connection_names
                    .get(&uuid)
                    .cloned()
                    .unwrap_or_else(|| uuid.to_string())
            }),
            instances,
            outpost,
        });
    }
    Ok(Page {
        items: rows,
        count: outposts.count,
        request: outposts.request,
    })
}

#[server(prefix = "/ui-fn", endpoint = "get_outpost", input = GetUrl)]
pub async fn get_outpost(pk: String) -> Result<Outpost, UiError> {
    let (services, caller) = ssr::caller("/outposts")?;
    Ok(services
        .get_outpost(&caller, uuid_of(&pk, "outpost")?)
        .await?)
}

/// What the outpost's instances reported in the last 15 s; the page polls it.
#[server(prefix = "/ui-fn", endpoint = "outpost_instances", input = GetUrl)]
pub async fn outpost_instances(pk: String) -> Result<InstancesNow, UiError> {
    let (services, caller) = ssr::caller("/outposts")?;
    let pk = uuid_of(&pk, "outpost")?;
    let now = Utc::now();
    let since = now - chrono::Duration::hours(1);
    let (instances, events) = services
        .outpost_status(&caller, pk, since - chrono::Duration::hours(23))
        .await?;
    let live: Vec<String> = instances
        .iter()
        .filter(|i| i.state.connected)
        .map(|i| i.state.uid.clone())
        .collect();
    Ok(InstancesNow {
        timeline: garrison_model::health_timeline(&events, since, now, &live),
        instances,
        now,
        since,
    })
}

/// Providers an outpost or application form can pick from.
#[server(prefix = "/ui-fn", endpoint = "provider_choices", input = GetUrl)]
pub async fn provider_choices() -> Result<Vec<ProviderChoice>, UiError> {
    let (services, caller) = ssr::caller("/outposts")?;
    let page = services
        .list_providers(&caller, &every_row(), Default::default())
        .await?;
    Ok(page
        .items
        .into_iter()
        .map(|p| ProviderChoice {
            pk: p.pk,
            name: p.name,
            kind: p.kind,
        })
        .collect())
}

/// Service connections an outpost form can pick from.
#[server(prefix = "/ui-fn", endpoint = "connection_choices", input = GetUrl)]
pub async fn connection_choices() -> Result<Vec<ServiceConnection>, UiError> {
    let (services, caller) = ssr::caller("/outposts")?;
    Ok(services
        .list_service_connections(&caller, &every_row(), Default::default())
        .await?
        .items)
}

/// Creates the outpost with the default configuration pointing at this server, then opens
/// its page (where its token is).
#[server(prefix = "/ui-fn", endpoint = "create_outpost")]
pub async fn create_outpost(
    csrf_token: String,
    name: String,
    outpost_type: String,
    providers: Option<Vec<String>>,
    service_connection: String,
) -> Result<(), UiError> {
    ssr::check_csrf(&csrf_token)?;
    let (services, caller) = ssr::caller("/outposts")?;
    let mut errors = FieldErrors::new();
    let outpost_type = provider_kind(&outpost_type, "type", &mut errors);
    let providers = provider_pks(providers, &mut errors);
    let service_connection = optional_uuid(&service_connection, "service_connection", &mut errors);
    errors.into_result().map_err(UiError::Invalid)?;
    let authentik_host = format!("{}/", request_origin());
    let outpost = services
        .create_outpost(
            &caller,
            OutpostChanges {
                name: Some(name),
                outpost_type,
                providers: Some(providers),
                service_connection: Some(service_connection),
                config: Some(Value::Object(OutpostConfig::defaults_map(&authentik_host))),
                managed: None,
            },
        )
        .await?;
    leptos_axum::redirect(&format!("/outposts/{}", outpost.pk));
    Ok(())
}

/// Saves the outpost's name, providers, service connection and configuration (its type is
/// fixed once created: the providers are of that type).
#[server(prefix = "/ui-fn", endpoint = "update_outpost")]
pub async fn update_outpost(
    csrf_token: String,
    pk: String,
    name: String,
    providers: Option<Vec<String>>,
    service_connection: String,
    config: String,
) -> Result<(), UiError> {
    ssr::check_csrf(&csrf_token)?;
    let (services, caller) = ssr::caller("/outposts")?;
    let pk = uuid_of(&pk, "outpost")?;
    let mut errors = FieldErrors::new();
    let providers = provider_pks(providers, &mut errors);
    let service_connection = optional_uuid(&service_connection, "service_connection", &mut errors);
    errors.into_result().map_err(UiError::Invalid)?;
    let config = json_object(&config, "config")?;
    services
        .update_outpost(
            &caller,
            pk,
            OutpostChanges {
                name: Some(name),
                providers: Some(providers),
                service_connection: Some(service_connection),
                config: Some(Value::Object(config)),
                ..Default::default()
            },
            true,
        )
        .await?;
    Ok(())
}

/// Deletes the outpost with its service account and token.
#[server(prefix = "/ui-fn", endpoint = "delete_outpost")]
pub async fn delete_outpost(csrf_token: String, pk: String) -> Result<(), UiError> {
    ssr::check_csrf(&csrf_token)?;
    let (services, caller) = ssr::caller("/outposts")?;
    services
        .delete_outpost(&caller, uuid_of(&pk, "outpost")?)
        .await?;
    leptos_axum::redirect("/outposts");
    Ok(())
}

/// Reveals the outpost's token on the operator's request (audited).
#[server(prefix = "/ui-fn", endpoint = "reveal_outpost_token")]
pub async fn reveal_outpost_token(csrf_token: String, pk: String) -> Result<DeployToken, UiError> {
    ssr::check_csrf(&csrf_token)?;
    let (services, caller) = ssr::caller("/outposts")?;
    let pk = uuid_of(&pk, "outpost")?;
    let key = services.view_outpost_token(&caller, pk).await?;
    if ssr::posted_without_javascript() {
        services.hand_over(&caller, &token_label(pk), &key).await?;
    }
    Ok(DeployToken {
        key,
        origin: request_origin(),
    })
}

/// Replaces the outpost's token; connected instances are told to reconnect, and the new key
/// is shown so it can be deployed.
#[server(prefix = "/ui-fn", endpoint = "rotate_outpost_token")]
pub async fn rotate_outpost_token(csrf_token: String, pk: String) -> Result<DeployToken, UiError> {
    ssr::check_csrf(&csrf_token)?;
    let (services, caller) = ssr::caller("/outposts")?;
    let pk = uuid_of(&pk, "outpost")?;
    let key = services.rotate_outpost_token(&caller, pk).await?;
    if ssr::posted_without_javascript() {
        services.hand_over(&caller, &token_label(pk), &key).await?;
    }
    Ok(DeployToken {
        key,
        origin: request_origin(),
    })
}

/// Under which label a revealed token waits for the page the form redirects to.
#[cfg(feature = "ssr")]
fn token_label(outpost: uuid::Uuid) -> String {
    format!("outpost-token/{}", outpost.simple())
}

/// The token a form posted without JavaScript just revealed or rotated, once: the redirect
/// back to the page loses the function's result, so the services keep it for this session.
#[server(prefix = "/ui-fn", endpoint = "take_revealed_token", input = GetUrl)]
pub async fn take_revealed_token(pk: String) -> Result<Option<DeployToken>, UiError> {
    let (services, caller) = ssr::caller("/outposts")?;
    let Ok(pk) = uuid_of(&pk, "outpost") else {
        return Ok(None);
    };
    let key = services.take_handed_over(&caller, &token_label(pk)).await?;
    Ok(key.map(|key| DeployToken {
        key,
        origin: request_origin(),
    }))
}

// ---------------------------------------------------------------------------------------------
// Providers
// ---------------------------------------------------------------------------------------------

#[server(prefix = "/ui-fn", endpoint = "list_providers", input = GetUrl)]
pub async fn list_providers(page: u64, search: String) -> Result<Page<Provider>, UiError> {
    let (services, caller) = ssr::caller("/providers")?;
    Ok(services
        .list_providers(&caller, &list_query(page, search), Default::default())
        .await?
        .map(without_secrets))
}

#[server(prefix = "/ui-fn", endpoint = "get_provider", input = GetUrl)]
pub async fn get_provider(pk: String) -> Result<Provider, UiError> {
    let (services, caller) = ssr::caller("/providers")?;
    let pk = pk
        .trim()
        .parse::<i64>()
        .map_err(|_| UiError::Message(format!("No provider {pk}.")))?;
    Ok(without_secrets(
        services.get_provider(&caller, pk, None).await?,
    ))
}

#[server(prefix = "/ui-fn", endpoint = "create_provider")]
#[allow(clippy::too_many_arguments)]
pub async fn create_provider(
    csrf_token: String,
    name: String,
    kind: String,
    authorization_flow: String,
    external_host: Option<String>,
    internal_host: Option<String>,
    mode: Option<String>,
    base_dn: Option<String>,
    client_networks: Option<String>,
) -> Result<(), UiError> {
    ssr::check_csrf(&csrf_token)?;
    let (services, caller) = ssr::caller("/providers")?;
    let inputs = KindInputs {
        external_host,
        internal_host,
        mode,
        base_dn,
        client_networks,
    };
    let (kind, changes) = provider_changes(&kind, name, &authorization_flow, inputs)?;
    let provider = services.create_provider(&caller, kind, changes).await?;
    leptos_axum::redirect(&format!("/providers/{}", provider.pk));
    Ok(())
}

/// Saves what the provider form shows; everything else (secrets included) stays as it is.
/// `kind` is the provider's own, carried by the form: the service refuses a provider of
/// another kind as not found.
#[server(prefix = "/ui-fn", endpoint = "update_provider")]
#[allow(clippy::too_many_arguments)]
pub async fn update_provider(
    csrf_token: String,
    pk: i64,
    kind: String,
    name: String,
    authorization_flow: String,
    external_host: Option<String>,
    internal_host: Option<String>,
    mode: Option<String>,
    base_dn: Option<String>,
    client_networks: Option<String>,
) -> Result<(), UiError> {
    ssr::check_csrf(&csrf_token)?;
    let (services, caller) = ssr::caller("/providers")?;
    let inputs = KindInputs {
        external_host,
        internal_host,
        mode,
        base_dn,
        client_networks,
    };
    let (kind, changes) = provider_changes(&kind, name, &authorization_flow, inputs)?;
    services
        .update_provider(&caller, pk, Some(kind), changes, true)
        .await?;
    Ok(())
}

/// Deletes the provider; outposts serving it stop serving it.
#[server(prefix = "/ui-fn", endpoint = "delete_provider")]
pub async fn delete_provider(csrf_token: String, pk: i64) -> Result<(), UiError> {
    ssr::check_csrf(&csrf_token)?;
    let (services, caller) = ssr::caller("/providers")?;
    services.delete_provider(&caller, pk, None).await?;
    leptos_axum::redirect("/providers");
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Applications
// ---------------------------------------------------------------------------------------------

#[server(prefix = "/ui-fn", endpoint = "list_applications", input = GetUrl)]
pub async fn list_applications(page: u64, search: String) -> Result<Page<Application>, UiError> {
    let (services, caller) = ssr::caller("/applications")?;
    Ok(services
        .list_applications(&caller, &list_query(page, search), Default::default())
        .await?)
}

#[server(prefix = "/ui-fn", endpoint = "get_application", input = GetUrl)]
pub async fn get_application(slug: String) -> Result<Application, UiError> {
    let (services, caller) = ssr::caller("/applications")?;
    Ok(services.get_application(&caller, &slug).await?)
}

/// The application fields the forms offer, read from their inputs.
#[cfg(feature = "ssr")]
fn application_changes(
    name: String,
    slug: String,
    provider: &str,
    meta_launch_url: Option<String>,
) -> Result<ApplicationChanges, UiError> {
    let provider = match provider.trim() {
        "" => None,
        text => Some(
            text.parse::<i64>()
                .map_err(|_| invalid("provider", format!("{text:?} is not a provider.")))?,
        ),
    };
    Ok(ApplicationChanges {
        name: Some(name),
        slug: Some(slug.trim().to_owned()),
        provider: Some(provider),
        meta_launch_url: meta_launch_url.map(|url| url.trim().to_owned()),
        ..Default::default()
    })
}

#[server(prefix = "/ui-fn", endpoint = "create_application")]
pub async fn create_application(
    csrf_token: String,
    name: String,
    slug: String,
    provider: String,
    meta_launch_url: Option<String>,
) -> Result<(), UiError> {
    ssr::check_csrf(&csrf_token)?;
    let (services, caller) = ssr::caller("/applications")?;
    let changes = application_changes(name, slug, &provider, meta_launch_url)?;
    let app = services.create_application(&caller, changes).await?;
    leptos_axum::redirect(&format!("/applications/{}", app.slug));
    Ok(())
}

/// Saves the application; a new slug moves its page, so the browser follows it.
#[server(prefix = "/ui-fn", endpoint = "update_application")]
pub async fn update_application(
    csrf_token: String,
    current_slug: String,
    name: String,
    slug: String,
    provider: String,
    meta_launch_url: Option<String>,
) -> Result<(), UiError> {
    ssr::check_csrf(&csrf_token)?;
    let (services, caller) = ssr::caller("/applications")?;
    let changes = application_changes(name, slug, &provider, meta_launch_url)?;
    let app = services
        .update_application(&caller, &current_slug, changes, true)
        .await?;
    leptos_axum::redirect(&format!("/applications/{}", app.slug));
    Ok(())
}

#[server(prefix = "/ui-fn", endpoint = "delete_application")]
pub async fn delete_application(csrf_token: String, slug: String) -> Result<(), UiError> {
    ssr::check_csrf(&csrf_token)?;
    let (services, caller) = ssr::caller("/applications")?;
    services.delete_application(&caller, &slug).await?;
    leptos_axum::redirect("/applications");
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Service connections ("Integrations")
// ---------------------------------------------------------------------------------------------

#[server(prefix = "/ui-fn", endpoint = "list_integrations", input = GetUrl)]
pub async fn list_integrations(page: u64, search: String) -> Result<Page<IntegrationRow>, UiError> {
    let (services, caller) = ssr::caller("/integrations")?;
    let connections = services
        .list_service_connections(&caller, &list_query(page, search), Default::default())
        .await?;
    let mut rows = Vec::with_capacity(connections.items.len());
    for connection in connections.items {
        // One unreadable state must not hide the others.
        let state = services
            .service_connection_state(&caller, connection.pk)
            .await
            .map_err(|e| UiError::from(e).to_string());
        rows.push(IntegrationRow { connection, state });
    }
    Ok(Page {
        items: rows,
        count: connections.count,
        request: connections.request,
    })
}

#[server(prefix = "/ui-fn", endpoint = "create_docker_integration")]
pub async fn create_docker_integration(
    csrf_token: String,
    name: String,
    url: String,
    local: Option<String>,
) -> Result<(), UiError> {
    ssr::check_csrf(&csrf_token)?;
    let (services, caller) = ssr::caller("/integrations")?;
    services
        .create_service_connection(
            &caller,
            ServiceConnectionKind::Docker,
            ServiceConnectionChanges {
                name: Some(name),
                url: Some(url.trim().to_owned()),
                local: Some(parse_checkbox(&local)),
                ..Default::default()
            },
        )
        .await?;
    Ok(())
}

/// An empty kubeconfig means in-cluster, which only a local connection may use.
#[server(prefix = "/ui-fn", endpoint = "create_kubernetes_integration")]
pub async fn create_kubernetes_integration(
    csrf_token: String,
    name: String,
    kubeconfig: String,
    local: Option<String>,
) -> Result<(), UiError> {
    ssr::check_csrf(&csrf_token)?;
    let (services, caller) = ssr::caller("/integrations")?;
    let kubeconfig = if kubeconfig.trim().is_empty() {
        None
    } else {
        Some(json_object(&kubeconfig, "kubeconfig")?)
    };
    services
        .create_service_connection(
            &caller,
            ServiceConnectionKind::Kubernetes,
            ServiceConnectionChanges {
                name: Some(name),
                kubeconfig,
                local: Some(parse_checkbox(&local)),
                ..Default::default()
            },
        )
        .await?;
    Ok(())
}

/// Deletes the connection; outposts deployed through it are no longer deployed by Garrison.
#[server(prefix = "/ui-fn", endpoint = "delete_integration")]
pub async fn delete_integration(csrf_token: String, pk: String) -> Result<(), UiError> {
    ssr::check_csrf(&csrf_token)?;
    let (services, caller) = ssr::caller("/integrations")?;
    services
        .delete_service_connection(&caller, uuid_of(&pk, "service connection")?, None)
        .await?;
    Ok(())
}
