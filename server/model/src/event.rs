use serde::{Deserialize, Serialize};
use serde_json::Value;
use uuid::Uuid;

use crate::Timestamp;

/// The audit actions Garrison writes, named as authentik names them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EventAction {
    Login,
    LoginFailed,
    Logout,
    ModelCreated,
    ModelUpdated,
    ModelDeleted,
    PasswordSet,
    SecretView,
    SystemException,
    ConfigurationError,
    Custom,
}

impl EventAction {
    pub const ALL: [EventAction; 11] = [
        Self::Login,
        Self::LoginFailed,
        Self::Logout,
        Self::ModelCreated,
        Self::ModelUpdated,
        Self::ModelDeleted,
        Self::PasswordSet,
        Self::SecretView,
        Self::SystemException,
        Self::ConfigurationError,
        Self::Custom,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Login => "login",
            Self::LoginFailed => "login_failed",
            Self::Logout => "logout",
            Self::ModelCreated => "model_created",
            Self::ModelUpdated => "model_updated",
            Self::ModelDeleted => "model_deleted",
            Self::PasswordSet => "password_set",
            Self::SecretView => "secret_view",
            Self::SystemException => "system_exception",
            Self::ConfigurationError => "configuration_error",
            Self::Custom => "custom_",
        }
    }

    pub fn parse(value: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|a| a.as_str() == value)
    }

    pub fn label(self) -> &'static str {
        match self {
            Self::Login => "Login",
            Self::LoginFailed => "Login failed",
            Self::Logout => "Logout",
            Self::ModelCreated => "Model created",
            Self::ModelUpdated => "Model updated",
            Self::ModelDeleted => "Model deleted",
            Self::PasswordSet => "Password set",
            Self::SecretView => "Secret viewed",
            Self::SystemException => "System exception",
            Self::ConfigurationError => "Configuration error",
            Self::Custom => "Custom",
        }
    }
}

/// One audit event. `user` and `context` are JSON in authentik's shape: the user as
/// `{"pk", "username", "email"}`, the context with `model`, `diff` and `http_request`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Event {
    pub pk: Uuid,
    pub action: String,
    pub app: String,
    pub user: Value,
    pub context: Value,
    pub client_ip: Option<String>,
    pub created: Timestamp,
    pub expires: Option<Timestamp>,
}
