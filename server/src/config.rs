//! Configuration: defaults, then an optional TOML file, then GARRISON_* environment variables.
//! One table of settings drives parsing, validation and the `garrison config` listing; a bad
//! value is reported with its key and what was expected.
use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

/// One setting: its key (the environment variable is `GARRISON_` + upper-cased key), its
/// default and what it means.
struct Setting {
    key: &'static str,
    default: Option<&'static str>,
    secret: bool,
    help: &'static str,
}

const SETTINGS: &[Setting] = &[
    Setting {
        key: "data_dir",
        default: Some("./data"),
        secret: false,
        help: "directory for the embedded SQLite database",
    },
    Setting {
        key: "database_url",
        default: None,
        secret: true,
        help: "postgres://… to use PostgreSQL instead of the embedded SQLite file",
    },
    Setting {
        key: "redis_url",
        default: None,
        secret: true,
        help: "redis://… for a shared cache and pub/sub instead of the in-process one",
    },
    Setting {
        key: "redis_prefix",
        default: Some("garrison:"),
        secret: false,
        help: "put before every Redis key and channel, so several installations can share one Redis",
    },
    Setting {
        key: "listen",
        default: Some("0.0.0.0:9000"),
        secret: false,
        help: "address of the HTTP server (UI, API, websockets)",
    },
    Setting {
        key: "metrics_listen",
        default: Some("0.0.0.0:9300"),
        secret: false,
        help: "address of the Prometheus /metrics endpoint",
    },
    Setting {
        key: "secret_key",
        default: None,
        secret: true,
        help: "key that seals secrets at rest; generated and stored on first start when unset",
    },
    Setting {
        key: "bootstrap_password",
        default: None,
        secret: true,
        help: "password of the first administrator (akadmin), used once",
    },
    Setting {
        key: "bootstrap_token",
        default: None,
        secret: true,
        help: "API token key of the first administrator, used once",
    },
    Setting {
        key: "bootstrap_email",
        default: None,
        secret: false,
        help: "email address of the first administrator",
    },
    Setting {
        key: "log_level",
        default: Some("info"),
        secret: false,
        help: "tracing filter, e.g. info or garrison=debug",
    },
    Setting {
        key: "log_format",
        default: Some("auto"),
        secret: false,
        help: "auto (human on a terminal, JSON otherwise), human or json",
    },
    Setting {
        key: "secure_cookies",
        default: Some("false"),
        secret: false,
        help: "mark cookies Secure (set true behind TLS)",
    },
    Setting {
        key: "trust_forwarded_for",
        default: Some("false"),
        secret: false,
        help: "take client addresses from X-Forwarded-For (only behind a trusted proxy)",
    },
    Setting {
        key: "trusted_proxies",
        default: Some("1"),
        secret: false,
        help: "with trust_forwarded_for: how many proxies in front append to X-Forwarded-For; the client is the entry that many places from the right",
    },
    Setting {
        key: "session_lifetime_hours",
        default: Some("336"),
        secret: false,
        help: "how long a login session lasts",
    },
    Setting {
        key: "login_failures_allowed",
        default: Some("5"),
        secret: false,
        help: "failed logins per username within the window before further attempts are refused",
    },
    Setting {
        key: "login_failure_window_seconds",
        default: Some("300"),
        secret: false,
        help: "the window for login_failures_allowed",
    },
    Setting {
        key: "token_max_lifetime_days",
        default: Some("90"),
        secret: false,
        help: "the longest an API token created or changed by a non-superuser may live",
    },
    Setting {
        key: "oci_registries",
        default: None,
        secret: false,
        help: "comma-separated registries (host[:port], or http://host[:port]) that OCI pulls (plugins, oci:// blueprints) may reach besides public ones; loopback and link-local addresses are refused unless listed; oci:// blueprints use HTTPS unless their registry is listed with http://",
    },
    Setting {
        key: "embedded_outpost",
        default: Some("true"),
        secret: false,
        help: "keep authentik's embedded outpost (a proxy outpost managed by the server); false removes it",
    },
    Setting {
        key: "plugins_dir",
        default: None,
        secret: false,
        help: "directory of NAME.wasm + NAME.toml plugins, offered for review at start",
    },
    Setting {
        key: "plugin_secrets_dir",
        default: None,
        secret: false,
        help: "directory with one file per secret plugins can be granted (e.g. a secrets mount)",
    },
    Setting {
        key: "plugin_cache_dir",
        // Derived from data_dir when unset; a default here would be taken literally.
        default: None,
        secret: false,
        help: "where compiled plugins are cached, keyed by digest and engine (unset: plugin-cache in data_dir)",
    },
    Setting {
        key: "blueprints_dir",
        // Derived from data_dir when unset; a default here would be taken literally.
        default: None,
        secret: false,
        help: "directory of blueprint files (*.yaml) that blueprint instances may name; nothing outside it is read (unset: blueprints in data_dir)",
    },
    Setting {
        key: "blueprints_watch_interval_seconds",
        default: Some("5"),
        secret: false,
        help: "how often the blueprints directory is polled for new and changed files (a new file is discovered, a changed one applied); 0 turns the watcher off",
    },
    Setting {
        key: "blueprints_discovery_interval_seconds",
        default: Some("3600"),
        secret: false,
        help: "how often every blueprint file is discovered (instances created, changed files applied) and instances whose file is gone are removed; also done at start",
    },
    Setting {
        key: "site_dir",
        default: None,
        secret: false,
        help: "directory with the browser bundle (pkg/); defaults to the bundle built into the binary",
    },
];

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("configuration file {path}: {message}")]
    File { path: String, message: String },
    #[error("{source_name} sets unknown setting {key:?}; known settings: {known}")]
    Unknown {
        source_name: String,
        key: String,
        known: String,
    },
    #[error("setting {key} ({env}) = {value:?} is invalid: expected {expected}")]
    Invalid {
        key: &'static str,
        env: String,
        value: String,
        expected: String,
    },
}

#[derive(Clone, Debug)]
pub enum LogFormat {
    Auto,
    Human,
    Json,
}

#[derive(Clone, Debug)]
pub struct Config {
    pub data_dir: PathBuf,
    pub database_url: Option<String>,
    pub redis_url: Option<String>,
    pub redis_prefix: String,
    pub listen: SocketAddr,
    pub metrics_listen: SocketAddr,
    pub secret_key: Option<String>,
    pub bootstrap_password: Option<String>,
    pub bootstrap_token: Option<String>,
    pub bootstrap_email: Option<String>,
    pub log_level: String,
    pub log_format: LogFormat,
    pub secure_cookies: bool,
    pub trust_forwarded_for: bool,
    pub trusted_proxies: usize,
    pub session_lifetime: Duration,
    pub token_max_lifetime: Duration,
    pub oci_registries: Vec<String>,
    pub embedded_outpost: bool,
    pub login_failures_allowed: u64,
    pub login_failure_window: Duration,
    pub site_dir: Option<PathBuf>,
    pub plugins_dir: Option<PathBuf>,
    pub plugin_secrets_dir: Option<PathBuf>,
    pub plugin_cache_dir: PathBuf,
    pub blueprints_dir: PathBuf,
    /// `None`: the watcher is off.
    pub blueprints_watch_interval: Option<Duration>,
    pub blueprints_discovery_interval: Duration,
}

fn env_name(key: &str) -> String {
    format!("GARRISON_{}", key.to_uppercase())
}

impl Config {
    /// Loads from `file` (if given) and the process environment.
    pub fn load(file: Option<&std::path::Path>) -> Result<Self, ConfigError> {
        let env: BTreeMap<String, String> = std::env::vars().collect();
        Self::from_sources(file, &env)
    }

    pub fn from_sources(
        file: Option<&std::path::Path>,
        env: &BTreeMap<String, String>,
    ) -> Result<Self, ConfigError> {
        let known = || {
            SETTINGS
                .iter()
                .map(|s| s.key)
                .collect::<Vec<_>>()
                .join(", ")
        };
        let mut values: BTreeMap<&'static str, String> = BTreeMap::new();
        for setting in SETTINGS {
            if let Some(default) = setting.default {
                values.insert(setting.key, default.to_owned());
            }
        }
        if let Some(path) = file {
            let text = std::fs::read_to_string(path).map_err(|e| ConfigError::File {
                path: path.display().to_string(),
                message: e.to_string(),
            })?;
            let table: toml::Table =
                text.parse()
                    .map_err(|e: toml::de::Error| ConfigError::File {
                        path: path.display().to_string(),
                        message: e.to_string(),
                    })?;
            for (key, value) in table {
                let Some(setting) = SETTINGS.iter().find(|s| s.key == key) else {
                    return Err(ConfigError::Unknown {
                        source_name: path.display().to_string(),
                        key,
                        known: known(),
                    });
                };
                let text = match value {
                    toml::Value::String(s) => s,
                    other => other.to_string(),
                };
                values.insert(setting.key, text);
            }
        }
        for (name, value) in env {
            let Some(key) = name.strip_prefix("GARRISON_") else {
                continue;
            };
            // Variables the test harness and tools use, not settings.
            if key.starts_with("TEST_") || key == "CONFIG" {
                continue;
            }
            let lower = key.to_lowercase();
            let Some(setting) = SETTINGS.iter().find(|s| s.key == lower) else {
                return Err(ConfigError::Unknown {
                    source_name: "the environment".into(),
                    key: name.clone(),
                    known: known(),
                });
            };
            values.insert(setting.key, value.clone());
        }
        Self::from_values(&values)
    }

    fn from_values(values: &BTreeMap<&'static str, String>) -> Result<Self, ConfigError> {
        let get = |key: &str| values.get(key).cloned().filter(|v| !v.is_empty());
        let invalid = |key: &'static str, expected: &str| ConfigError::Invalid {
            key,
            env: env_name(key),
            value: if SETTINGS.iter().any(|s| s.key == key && s.secret) {
                "***".into()
            } else {
                get(key).unwrap_or_default()
            },
            expected: expected.into(),
        };
        let addr = |key: &'static str| -> Result<SocketAddr, ConfigError> {
            get(key)
                .unwrap_or_default()
                .parse()
                .map_err(|_| invalid(key, "an address like 0.0.0.0:9000"))
        };
        let boolean = |key: &'static str| -> Result<bool, ConfigError> {
            match get(key).as_deref().map(str::to_lowercase).as_deref() {
                None | Some("false" | "0" | "no" | "off") => Ok(false),
                Some("true" | "1" | "yes" | "on") => Ok(true),
                _ => Err(invalid(key, "true or false")),
            }
        };
        let number = |key: &'static str, min: u64| -> Result<u64, ConfigError> {
            get(key)
                .unwrap_or_default()
                .parse::<u64>()
                .ok()
                .filter(|n| *n >= min)
                .ok_or_else(|| invalid(key, &format!("a whole number of at least {min}")))
        };
        // A period at most a year long: timers add it to the clock, and a sum past what the
        // clock can hold would end the task that waits on it.
        let period = |key: &'static str, min: u64| -> Result<u64, ConfigError> {
            const A_YEAR: u64 = 365 * 86_400;
            let seconds = number(key, min)?;
            if seconds > A_YEAR {
                return Err(invalid(key, &format!("at most {A_YEAR} seconds (a year)")));
            }
            Ok(seconds)
        };
        let database_url = get("database_url");
        if let Some(url) = &database_url {
            if !(url.starts_with("postgres://")
                || url.starts_with("postgresql://")
                || url.starts_with("sqlite:"))
            {
                return Err(invalid("database_url", "a postgres:// (or sqlite:) URL"));
            }
        }
        let redis_url = get("redis_url");
        if let Some(url) = &redis_url {
            if !(url.starts_with("redis://") || url.starts_with("rediss://")) {
                return Err(invalid("redis_url", "a redis:// or rediss:// URL"));
            }
        }
        let log_format = match get("log_format").as_deref() {
            None | Some("auto") => LogFormat::Auto,
            Some("human") => LogFormat::Human,
            Some("json") => LogFormat::Json,
            Some(_) => return Err(invalid("log_format", "auto, human or json")),
        };
        let data_dir = PathBuf::from(get("data_dir").unwrap_or_else(|| "./data".into()));
        Ok(Config {
            plugin_cache_dir: get("plugin_cache_dir")
                .map(PathBuf::from)
                .unwrap_or_else(|| data_dir.join("plugin-cache")),
            blueprints_dir: get("blueprints_dir")
                .map(PathBuf::from)
                .unwrap_or_else(|| data_dir.join("blueprints")),
            blueprints_watch_interval: match period("blueprints_watch_interval_seconds", 0)? {
                0 => None,
                seconds => Some(Duration::from_secs(seconds)),
            },
            blueprints_discovery_interval: Duration::from_secs(period(
                "blueprints_discovery_interval_seconds",
                1,
            )?),
            plugins_dir: get("plugins_dir").map(PathBuf::from),
            plugin_secrets_dir: get("plugin_secrets_dir").map(PathBuf::from),
            data_dir,
            database_url,
            redis_url,
            redis_prefix: get("redis_prefix").unwrap_or_default(),
            listen: addr("listen")?,
            metrics_listen: addr("metrics_listen")?,
            secret_key: get("secret_key"),
            bootstrap_password: get("bootstrap_password"),
            bootstrap_token: get("bootstrap_token"),
            bootstrap_email: get("bootstrap_email"),
            log_level: get("log_level").unwrap_or_else(|| "info".into()),
            log_format,
            secure_cookies: boolean("secure_cookies")?,
            trust_forwarded_for: boolean("trust_forwarded_for")?,
            trusted_proxies: number("trusted_proxies", 1)? as usize,
            token_max_lifetime: Duration::from_secs(
                number("token_max_lifetime_days", 1)?.saturating_mul(86_400),
            ),
            oci_registries: {
                let listed: Vec<String> = get("oci_registries")
                    .map(|list| {
                        list.split(',')
                            .map(|h| h.trim().to_lowercase())
                            .filter(|h| !h.is_empty())
                            .collect()
                    })
                    .unwrap_or_default();
                if listed
                    .iter()
                    .any(|entry| garrison_oci::Allowed::check_entry(entry).is_err())
                {
                    return Err(invalid(
                        "oci_registries",
                        "comma-separated host[:port] or http://host[:port]",
                    ));
                }
                listed
            },
            embedded_outpost: boolean("embedded_outpost")?,
            session_lifetime: Duration::from_secs(number("session_lifetime_hours", 1)? * 3600),
            login_failures_allowed: number("login_failures_allowed", 1)?,
            login_failure_window: Duration::from_secs(number("login_failure_window_seconds", 1)?),
            site_dir: get("site_dir").map(PathBuf::from),
        })
    }

    /// The file holding the key that seals secrets at rest, when `secret_key` is not set.
    pub fn secret_key_file(&self) -> PathBuf {
        self.data_dir.join("secret.key")
    }

    /// The database URL in effect: the configured one, or the SQLite file in the data directory.
    pub fn effective_database_url(&self) -> String {
        match &self.database_url {
            Some(url) => url.clone(),
            None => format!(
                "sqlite://{}?mode=rwc",
                self.data_dir.join("garrison.db").display()
            ),
        }
    }

    /// Every setting with its value in effect, secrets masked: for `garrison config`.
    pub fn describe() -> Vec<(String, &'static str, &'static str)> {
        SETTINGS
            .iter()
            .map(|s| (env_name(s.key), s.default.unwrap_or("(unset)"), s.help))
            .collect()
    }
}
