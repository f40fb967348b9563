//! Server functions: the UI's only way to the services. Each identifies the caller from the
//! request (the HTTP layer resolved it) and makes one service call. Outposts and what they
//! serve live in `outposts`; certificate keypairs and brands in `crypto`; blueprint instances,
//! their plans and applies in `blueprints`.
use garrison_model::{DashboardCounts, Event, FieldErrors, Group, Page, Plugin, User};
use leptos::prelude::*;
use leptos::server_fn::codec::{GetUrl, JsonEncoding};
use leptos::server_fn::error::{FromServerFnError, ServerFnErrorErr};
use serde::{Deserialize, Serialize};

mod blueprints;
mod crypto;
mod outposts;

pub use blueprints::*;
pub use crypto::*;
pub use outposts::*;

/// What a server function can fail with, as the UI shows it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, thiserror::Error)]
pub enum UiError {
    /// Field errors to show next to the inputs.
    #[error("{0}")]
    Invalid(FieldErrors),
    #[error("{0}")]
    Message(String),
    #[error("{0}")]
    ServerFn(ServerFnErrorErr),
}

impl FromServerFnError for UiError {
    type Encoder = JsonEncoding;

    fn from_server_fn_error(value: ServerFnErrorErr) -> Self {
        UiError::ServerFn(value)
    }
}

impl UiError {
    pub fn field(&self, name: &str) -> Vec<String> {
        match self {
            UiError::Invalid(errors) => errors.get(name).to_vec(),
            _ => Vec::new(),
        }
    }

    /// The message for the form as a whole: non-field errors, or the error itself.
    pub fn general(&self) -> Option<String> {
        match self {
            UiError::Invalid(errors) => {
                let messages = errors.get(FieldErrors::NON_FIELD);
                (!messages.is_empty()).then(|| messages.join(" "))
            }
            other => Some(other.to_string()),
        }
    }
}

/// The logged-in user as the layout shows it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SessionSummary {
    pub username: String,
    pub name: String,
    pub is_superuser: bool,
}

#[cfg(feature = "ssr")]
mod ssr {
    use garrison_http::RequestIdentity;
    use garrison_services::{Caller, ServiceError, Services, Via};
    use leptos::prelude::*;

    use super::UiError;

    pub fn services() -> Result<Services, UiError> {
        use_context::<Services>().ok_or_else(|| UiError::Message("services unavailable".into()))
    }

    pub fn identity() -> Option<RequestIdentity> {
        use_context::<http::request::Parts>()
            .and_then(|parts| parts.extensions.get::<RequestIdentity>().cloned())
    }

    pub fn registry() -> Result<garrison_registry::Registry, UiError> {
        use_context::<garrison_registry::Registry>()
            .ok_or_else(|| UiError::Message("plugin registry unavailable".into()))
    }

    pub fn caller(path: &str) -> Result<(Services, Caller), UiError> {
        let caller = identity()
            .and_then(|identity| identity.caller(Via::Ui { path: path.into() }))
            .ok_or_else(|| UiError::Message("Your session has ended. Log in again.".into()))?;
        Ok((services()?, caller))
    }

    impl From<ServiceError> for UiError {
        fn from(error: ServiceError) -> Self {
            match error {
                ServiceError::Validation(errors) => UiError::Invalid(errors),
                other => UiError::Message(garrison_web::messages::for_people(&other)),
            }
        }
    }

    /// Only local paths are followed after login, never another site.
    pub fn safe_next(next: Option<String>) -> String {
        match next {
            Some(n) if garrison_web::redirect::is_local_path(&n) => n,
            _ => "/".into(),
        }
    }

    pub fn set_cookie(value: String) {
        if let Some(response) = use_context::<leptos_axum::ResponseOptions>() {
            if let Ok(value) = http::HeaderValue::from_str(&value) {
                response.append_header(http::header::SET_COOKIE, value);
            }
        }
    }

    /// True when the request is a plain form post (the browser asks for HTML, as server_fn's
    /// own redirect-to-Referer check reads it): a function's result is then lost in the
    /// redirect, so a secret it reveals must be handed over to the page (`hand_over`).
    pub fn posted_without_javascript() -> bool {
        use_context::<http::request::Parts>()
            .is_some_and(|parts| garrison_web::asks_for_html(&parts.headers))
    }

    /// State-changing server functions take the form's `csrf_token` as an argument, so the
    /// hydrated client (which re-serialises forms into typed arguments) sends it too. The HTTP
    /// layer has already compared it with the cookie; this repeats the check so a function can
    /// never be reached without it.
    pub fn check_csrf(submitted: &str) -> Result<(), UiError> {
        let expected = use_context::<http::request::Parts>().and_then(|parts| {
            parts
                .extensions
                .get::<garrison_web::csrf::CsrfToken>()
                .map(|t| t.0.clone())
        });
        match expected {
            Some(expected) if !submitted.is_empty() && expected == submitted => Ok(()),
            _ => Err(UiError::Message(
                "The form expired. Reload the page and submit it again.".into(),
            )),
        }
    }

    pub fn secure_cookies() -> bool {
        use_context::<garrison_http::HttpSettings>().is_some_and(|s| s.secure_cookies)
    }
}

#[cfg(feature = "ssr")]
fn parse_checkbox(value: &Option<String>) -> bool {
    matches!(value.as_deref(), Some("on" | "true" | "1"))
}

#[server(prefix = "/ui-fn", endpoint = "login")]
pub async fn login(
    csrf_token: String,
    username: String,
    password: String,
    next: Option<String>,
) -> Result<(), UiError> {
    ssr::check_csrf(&csrf_token)?;
    use garrison_http::cookies;
    let services = ssr::services()?;
    let identity = ssr::identity();
    let client_ip = identity.as_ref().and_then(|i| i.client_ip.clone());
    let user_agent = use_context::<http::request::Parts>()
        .and_then(|p| {
            p.headers
                .get(http::header::USER_AGENT)
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned)
        })
        .unwrap_or_default();
    let outcome = services
        .login(&username, &password, client_ip.as_deref(), &user_agent)
        .await?;
    let lifetime = services.settings().session_lifetime.as_secs();
    ssr::set_cookie(cookies::set(
        cookies::session(ssr::secure_cookies()),
        &outcome.session.0,
        lifetime,
        ssr::secure_cookies(),
    ));
    leptos_axum::redirect(&ssr::safe_next(next));
    Ok(())
}

#[server(prefix = "/ui-fn", endpoint = "logout")]
pub async fn logout(csrf_token: String) -> Result<(), UiError> {
    ssr::check_csrf(&csrf_token)?;
    use garrison_http::cookies;
    use garrison_http::identity::Credential;
    if let Some(identity) = ssr::identity() {
        if let (Credential::Session(key), Ok((services, caller))) =
            (identity.credential.clone(), ssr::caller("/logout"))
        {
            services.logout(&caller, &key).await?;
        }
    }
    ssr::set_cookie(cookies::clear(
        cookies::session(ssr::secure_cookies()),
        ssr::secure_cookies(),
    ));
    leptos_axum::redirect("/login");
    Ok(())
}

#[server(prefix = "/ui-fn", endpoint = "complete_setup")]
pub async fn complete_setup(
    csrf_token: String,
    token: String,
    username: String,
    password: String,
) -> Result<(), UiError> {
    ssr::check_csrf(&csrf_token)?;
    let services = ssr::services()?;
    services
        .complete_setup(&token, &username, &password)
        .await?;
    leptos_axum::redirect("/login?setup=done");
    Ok(())
}

#[server(prefix = "/ui-fn", endpoint = "setup_token_valid", input = GetUrl)]
pub async fn setup_token_valid(token: String) -> Result<bool, UiError> {
    Ok(ssr::services()?.setup_token_valid(&token).await?)
}

#[server(prefix = "/ui-fn", endpoint = "current_user", input = GetUrl)]
pub async fn current_user() -> Result<Option<SessionSummary>, UiError> {
    Ok(ssr::identity().and_then(|i| i.principal).and_then(|p| {
        let is_superuser = p.is_superuser();
        p.user().map(|u| SessionSummary {
            username: u.username.clone(),
            name: u.name.clone(),
            is_superuser,
        })
    }))
}

#[server(prefix = "/ui-fn", endpoint = "dashboard", input = GetUrl)]
pub async fn dashboard() -> Result<DashboardCounts, UiError> {
    let (services, caller) = ssr::caller("/")?;
    Ok(services.dashboard_counts(&caller).await?)
}

#[cfg(feature = "ssr")]
fn list_query(page: u64, search: String) -> garrison_model::ListQuery {
    garrison_model::ListQuery {
        page: garrison_model::PageRequest {
            page: page.max(1),
            page_size: 20,
        },
        search: Some(search).filter(|s| !s.trim().is_empty()),
        ordering: None,
    }
}

#[server(prefix = "/ui-fn", endpoint = "list_users", input = GetUrl)]
pub async fn list_users(page: u64, search: String) -> Result<Page<User>, UiError> {
    let (services, caller) = ssr::caller("/users")?;
    Ok(services
        .list_users(&caller, &list_query(page, search), Default::default())
        .await?)
}

#[server(prefix = "/ui-fn", endpoint = "get_user", input = GetUrl)]
pub async fn get_user(pk: i64) -> Result<User, UiError> {
    let (services, caller) = ssr::caller("/users")?;
    Ok(services.get_user(&caller, pk).await?)
}

#[server(prefix = "/ui-fn", endpoint = "save_user")]
#[allow(clippy::too_many_arguments)]
pub async fn save_user(
    csrf_token: String,
    pk: Option<i64>,
    username: String,
    name: String,
    email: String,
    user_type: String,
    path: String,
    is_active: Option<String>,
    password: Option<String>,
    current_password: Option<String>,
) -> Result<(), UiError> {
    ssr::check_csrf(&csrf_token)?;
    let (services, caller) = ssr::caller("/users")?;
    let user_type = garrison_model::UserType::parse(&user_type).ok_or_else(|| {
        UiError::Invalid(FieldErrors::single(
            "user_type",
            format!("\"{user_type}\" is not a valid choice."),
        ))
    })?;
    let changes = garrison_model::UserChanges {
        username: Some(username),
        name: Some(name),
        email: Some(email),
        user_type: Some(user_type),
        path: Some(path),
        is_active: Some(parse_checkbox(&is_active)),
        password: if pk.is_none() {
            password.clone().filter(|p| !p.is_empty())
        } else {
            None
        },
        ..Default::default()
    };
    match pk {
        None => {
            services.create_user(&caller, changes).await?;
        }
        Some(pk) => {
            // The user and the new password are saved together or not at all.
            let mut tx = services.begin().await?;
            services
                .update_user_in(&mut tx, &caller, pk, changes, true)
                .await?;
            if let Some(password) = password.filter(|p| !p.is_empty()) {
                services
                    .set_user_password_in(
                        &mut tx,
                        &caller,
                        pk,
                        garrison_services::PasswordChange {
                            new_password: &password,
                            current_password: current_password.as_deref(),
                        },
                    )
                    .await?;
            }
            services.commit(tx).await?;
        }
    }
    leptos_axum::redirect("/users");
    Ok(())
}

#[server(prefix = "/ui-fn", endpoint = "list_groups", input = GetUrl)]
pub async fn list_groups(page: u64, search: String) -> Result<Page<Group>, UiError> {
    let (services, caller) = ssr::caller("/groups")?;
    Ok(services
        .list_groups(&caller, &list_query(page, search), Default::default())
        .await?)
}

#[server(prefix = "/ui-fn", endpoint = "get_group", input = GetUrl)]
pub async fn get_group(pk: String) -> Result<Group, UiError> {
    let (services, caller) = ssr::caller("/groups")?;
    let pk = uuid::Uuid::parse_str(&pk).map_err(|_| UiError::Message(format!("No group {pk}.")))?;
    Ok(services.get_group(&caller, pk).await?)
}

#[server(prefix = "/ui-fn", endpoint = "save_group")]
pub async fn save_group(
    csrf_token: String,
    pk: Option<String>,
    name: String,
    is_superuser: Option<String>,
    attributes: String,
) -> Result<(), UiError> {
    ssr::check_csrf(&csrf_token)?;
    let (services, caller) = ssr::caller("/groups")?;
    let attributes = if attributes.trim().is_empty() {
        serde_json::Map::new()
    } else {
        match serde_json::from_str::<serde_json::Value>(&attributes) {
            Ok(serde_json::Value::Object(map)) => map,
            Ok(_) => {
                return Err(UiError::Invalid(FieldErrors::single(
                    "attributes",
                    "Attributes must be a JSON object.",
                )));
            }
            Err(e) => {
                return Err(UiError::Invalid(FieldErrors::single(
                    "attributes",
                    format!("Not valid JSON: {e}"),
                )));
            }
        }
    };
    let changes = garrison_model::GroupChanges {
        name: Some(name),
        is_superuser: Some(parse_checkbox(&is_superuser)),
        attributes: Some(attributes),
        ..Default::default()
    };
    match pk.filter(|p| !p.is_empty()) {
        None => {
            services.create_group(&caller, changes).await?;
        }
        Some(pk) => {
            let pk = uuid::Uuid::parse_str(&pk)
                .map_err(|_| UiError::Message(format!("No group {pk}.")))?;
            services.update_group(&caller, pk, changes, true).await?;
        }
    }
    leptos_axum::redirect("/groups");
    Ok(())
}

#[server(prefix = "/ui-fn", endpoint = "list_events", input = GetUrl)]
pub async fn list_events(
    page: u64,
    search: String,
    action: String,
) -> Result<Page<Event>, UiError> {
    let (services, caller) = ssr::caller("/events")?;
    let filter = garrison_services::EventFilter {
        action: Some(action).filter(|a| !a.is_empty()),
        ..Default::default()
    };
    Ok(services
        .list_events(&caller, &list_query(page, search), filter)
        .await?)
}

#[server(prefix = "/ui-fn", endpoint = "list_plugins", input = GetUrl)]
pub async fn list_plugins() -> Result<Vec<Plugin>, UiError> {
    let (_, caller) = ssr::caller("/plugins")?;
    Ok(ssr::registry()?.list(&caller).await?)
}

#[server(prefix = "/ui-fn", endpoint = "get_plugin", input = GetUrl)]
pub async fn get_plugin(name: String) -> Result<Plugin, UiError> {
    let (_, caller) = ssr::caller("/plugins")?;
    Ok(ssr::registry()?.get(&caller, &name).await?)
}

/// One review decision on a plugin: `enable`, `disable`, `grant-and-enable` (grant everything
/// it requests, as reviewed on its page, then enable) or `revoke` (take every grant back and
/// disable). Partial grants are made through the API.
#[server(prefix = "/ui-fn", endpoint = "plugin_action")]
pub async fn plugin_action(
    csrf_token: String,
    name: String,
    action: String,
) -> Result<(), UiError> {
    ssr::check_csrf(&csrf_token)?;
    let (_, caller) = ssr::caller("/plugins")?;
    let registry = ssr::registry()?;
    let current = registry.get(&caller, &name).await?;
    let changes = match action.as_str() {
        "enable" => garrison_services::PluginChanges {
            enabled: Some(true),
            ..Default::default()
        },
        "disable" => garrison_services::PluginChanges {
            enabled: Some(false),
            ..Default::default()
        },
        "grant-and-enable" => garrison_services::PluginChanges {
            granted: Some(current.requested.clone()),
            enabled: Some(true),
            ..Default::default()
        },
        "revoke" => garrison_services::PluginChanges {
            granted: Some(Vec::new()),
            enabled: Some(false),
            ..Default::default()
        },
        other => return Err(UiError::Message(format!("Unknown action {other:?}."))),
    };
    registry.change(&caller, &name, changes).await?;
    leptos_axum::redirect(&format!("/plugins/{name}"));
    Ok(())
}

/// Sets a plugin's per-call limits; a running plugin is reloaded with them before they are
/// recorded, so a limit it cannot start under is refused and nothing changes.
#[server(prefix = "/ui-fn", endpoint = "set_plugin_limits")]
pub async fn set_plugin_limits(
    csrf_token: String,
    name: String,
    deadline_ms: String,
    memory_mib: String,
) -> Result<(), UiError> {
    ssr::check_csrf(&csrf_token)?;
    let (_, caller) = ssr::caller("/plugins")?;
    let mut errors = FieldErrors::new();
    let mut whole = |field: &str, value: &str, unit: &str| match value.trim().parse::<u64>() {
        Ok(n) => Some(n),
        Err(_) => {
            errors.add(field, format!("{value:?} is not a whole number of {unit}."));
            None
        }
    };
    let deadline_ms = whole("deadline_ms", &deadline_ms, "milliseconds");
    let memory_mib = whole("memory_mib", &memory_mib, "MiB");
    errors.into_result().map_err(UiError::Invalid)?;
    let changes = garrison_services::PluginChanges {
        deadline_ms,
        memory_mib,
        ..Default::default()
    };
    ssr::registry()?.change(&caller, &name, changes).await?;
    leptos_axum::redirect(&format!("/plugins/{name}"));
    Ok(())
}

/// Installs from an OCI registry, pinned by digest; the plugin's page then asks for review.
#[server(prefix = "/ui-fn", endpoint = "install_oci_plugin")]
pub async fn install_oci_plugin(csrf_token: String, oci_reference: String) -> Result<(), UiError> {
    ssr::check_csrf(&csrf_token)?;
    let (_, caller) = ssr::caller("/plugins")?;
    let plugin = ssr::registry()?
        .install_oci(&caller, oci_reference.trim(), None)
        .await?;
    leptos_axum::redirect(&format!("/plugins/{}", plugin.name));
    Ok(())
}
