//! The example deployment backend: outposts an operator runs by hand. It reconciles nothing
//! (`up` and `down` only log) and renders the docker-compose file authentik's Docker controller
//! offers as its static deployment, so it needs no capability at all. Read it as the smallest
//! complete backend; real ones import `docker` or `kubernetes` and need those grants.
use garrison_plugin_sdk::backend::{
    ConnectionStatus, Deployment, Description, Guest, Level, PluginError, log,
};
use serde_json::{Map, Value};

struct Compose;

fn fail(message: impl Into<String>) -> PluginError {
    PluginError {
        message: message.into(),
    }
}

/// Host port, container port and protocol per outpost type (authentik's controllers).
fn ports(outpost_type: &str) -> &'static [(u16, u16, &'static str)] {
    match outpost_type {
        "proxy" => &[(9000, 9000, "tcp"), (9443, 9443, "tcp")],
        "ldap" => &[(389, 3389, "tcp"), (636, 6636, "tcp")],
        "radius" => &[(1812, 1812, "udp")],
        _ => &[],
    }
}

fn object(json: &str, what: &str) -> Result<Map<String, Value>, PluginError> {
    match serde_json::from_str::<Value>(if json.trim().is_empty() { "{}" } else { json }) {
        Ok(Value::Object(map)) => Ok(map),
        Ok(_) => Err(fail(format!("{what} must be a JSON object"))),
        Err(error) => Err(fail(format!("{what} is not valid JSON: {error}"))),
    }
}

/// A YAML scalar: JSON strings are valid double-quoted YAML, so quoting can never break out.
fn scalar(value: &Value) -> String {
    match value {
        Value::String(text) => Value::String(text.clone()).to_string(),
        // authentik writes AUTHENTIK_INSECURE as Python's str(bool) in compose files.
        Value::Bool(flag) => format!("\"{}\"", if *flag { "True" } else { "False" }),
        other => Value::String(other.to_string()).to_string(),
    }
}

/// A YAML mapping key: bare when it is a plain identifier, quoted otherwise.
fn key(text: &str) -> String {
    if !text.is_empty()
        && text
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '.' || c == '-')
    {
        text.to_owned()
    } else {
        scalar(&Value::String(text.to_owned()))
    }
}

impl Guest for Compose {
    fn describe() -> Description {
        Description {
            name: "compose".into(),
            version: env!("CARGO_PKG_VERSION").into(),
            outpost_types: ["proxy", "ldap", "radius", "rac"].map(String::from).to_vec(),
            connection_kinds: vec!["manual".into()],
            settings_schema: r#"{"type":"object","properties":{"labels":{"type":"object","additionalProperties":{"type":"string"}}},"additionalProperties":false}"#.into(),
        }
    }

    fn up(deployment: Deployment) -> Result<(), PluginError> {
        log(
            Level::Info,
            &format!(
                "outpost {} is deployed by hand; nothing to reconcile",
                deployment.outpost.name
            ),
        );
        Ok(())
    }

    fn down(deployment: Deployment) -> Result<(), PluginError> {
        log(
            Level::Info,
            &format!(
                "outpost {} is removed by hand; nothing to tear down",
                deployment.outpost.name
            ),
        );
        Ok(())
    }

    fn static_deployment(deployment: Deployment) -> Result<String, PluginError> {
        let environment = object(&deployment.environment, "environment")?;
        let settings = object(&deployment.settings, "settings")?;
        if let Some(unknown) = settings.keys().find(|k| *k != "labels") {
            return Err(fail(format!(
                "settings.{unknown}: unknown setting (expected: labels)"
            )));
        }
        let labels = match settings.get("labels") {
            None => Map::new(),
            Some(Value::Object(labels)) => labels.clone(),
            Some(_) => return Err(fail("settings.labels must be an object of strings")),
        };
        if deployment.image.trim().is_empty() {
            return Err(fail("image is empty"));
        }
        let kind = &deployment.outpost.outpost_type;
        let mut yaml = String::from("version: \"3.5\"\nservices:\n");
        yaml += &format!(
            "  authentik_{kind}:\n    image: {}\n",
            scalar(&Value::String(deployment.image.clone()))
        );
        let ports = ports(kind);
        if !ports.is_empty() {
            yaml += "    ports:\n";
            for (port, inner, protocol) in ports {
                yaml += &format!("      - \"{port}:{inner}/{protocol}\"\n");
            }
        }
        yaml += "    environment:\n";
        for (name, value) in &environment {
            yaml += &format!("      {}: {}\n", key(name), scalar(value));
        }
        if !labels.is_empty() {
            yaml += "    labels:\n";
            for (name, value) in &labels {
                yaml += &format!("      {}: {}\n", key(name), scalar(value));
            }
        }
        Ok(yaml)
    }

    fn connection_state(_settings: String) -> Result<ConnectionStatus, PluginError> {
        // A manual deployment has no connection to probe; it is as healthy as its operator.
        Ok(ConnectionStatus {
            healthy: true,
            version: "manual".into(),
        })
    }
}

garrison_plugin_sdk::export_backend!(Compose);
