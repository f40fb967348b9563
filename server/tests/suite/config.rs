//! Configuration: defaults, the file, the environment, and errors that name the key.
use std::collections::BTreeMap;

use garrison::Config;

fn env(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

#[test]
fn defaults_are_the_embedded_setup_on_authentiks_ports() {
    let config = Config::from_sources(None, &env(&[])).unwrap();
    assert_eq!(config.listen.port(), 9000);
    assert_eq!(config.metrics_listen.port(), 9300);
    assert!(config.database_url.is_none() && config.redis_url.is_none());
    assert!(config.effective_database_url().starts_with("sqlite://"));
}

#[test]
fn the_plugin_cache_follows_the_data_dir_unless_set() {
    let config = Config::from_sources(None, &env(&[])).unwrap();
    assert_eq!(
        config.plugin_cache_dir,
        config.data_dir.join("plugin-cache")
    );
    let config =
        Config::from_sources(None, &env(&[("GARRISON_DATA_DIR", "/srv/garrison")])).unwrap();
    assert_eq!(
        config.plugin_cache_dir,
        std::path::Path::new("/srv/garrison/plugin-cache")
    );
    let config = Config::from_sources(
        None,
        &env(&[("GARRISON_PLUGIN_CACHE_DIR", "/var/cache/garrison")]),
    )
    .unwrap();
    assert_eq!(
        config.plugin_cache_dir,
        std::path::Path::new("/var/cache/garrison")
    );
}

#[test]
fn the_blueprints_directory_follows_the_data_dir_unless_set() {
    let config =
        Config::from_sources(None, &env(&[("GARRISON_DATA_DIR", "/srv/garrison")])).unwrap();
    assert_eq!(
        config.blueprints_dir,
        std::path::Path::new("/srv/garrison/blueprints")
    );
    let config = Config::from_sources(
        None,
        &env(&[("GARRISON_BLUEPRINTS_DIR", "/etc/garrison/blueprints")]),
    )
    .unwrap();
    assert_eq!(
        config.blueprints_dir,
        std::path::Path::new("/etc/garrison/blueprints")
    );
}

#[test]
fn a_bad_value_names_its_key_and_what_was_expected() {
    let error = Config::from_sources(None, &env(&[("GARRISON_LISTEN", "nine-thousand")]))
        .unwrap_err()
        .to_string();
    assert!(
        error.contains("GARRISON_LISTEN")
            && error.contains("nine-thousand")
            && error.contains("0.0.0.0:9000"),
        "{error}"
    );
    let error = Config::from_sources(None, &env(&[("GARRISON_REDIS_URL", "http://x")]))
        .unwrap_err()
        .to_string();
    assert!(
        error.contains("GARRISON_REDIS_URL") && error.contains("redis://"),
        "{error}"
    );
}

#[test]
fn oci_registries_are_host_port_or_http_listings() {
    let config = Config::from_sources(
        None,
        &env(&[(
            "GARRISON_OCI_REGISTRIES",
            "registry.internal:5000, HTTP://127.0.0.1:5000 ,",
        )]),
    )
    .unwrap();
    assert_eq!(
        config.oci_registries,
        ["registry.internal:5000", "http://127.0.0.1:5000"]
    );
    for bad in [
        "ftp://registry.internal",
        "registry.internal/path",
        "user@registry",
    ] {
        let error = Config::from_sources(None, &env(&[("GARRISON_OCI_REGISTRIES", bad)]))
            .unwrap_err()
            .to_string();
        assert!(
            error.contains("GARRISON_OCI_REGISTRIES") && error.contains("http://host[:port]"),
            "{bad}: {error}"
        );
    }
}

#[test]
fn secrets_are_masked_in_errors() {
    let error = Config::from_sources(
        None,
        &env(&[("GARRISON_DATABASE_URL", "mysql://u:hunter2@db")]),
    )
    .unwrap_err()
    .to_string();
    assert!(!error.contains("hunter2"), "{error}");
}

#[test]
fn unknown_settings_are_refused_with_the_known_list() {
    let error = Config::from_sources(None, &env(&[("GARRISON_LISTEN_PORT", "1")]))
        .unwrap_err()
        .to_string();
    assert!(
        error.contains("GARRISON_LISTEN_PORT") && error.contains("metrics_listen"),
        "{error}"
    );
}

#[test]
fn the_file_is_read_and_the_environment_wins() {
    let dir = std::env::temp_dir().join(format!("garrison-config-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("garrison.toml");
    std::fs::write(
        &path,
        "listen = \"127.0.0.1:9100\"\nlogin_failures_allowed = 9\n",
    )
    .unwrap();
    let config =
        Config::from_sources(Some(&path), &env(&[("GARRISON_LISTEN", "127.0.0.1:9200")])).unwrap();
    assert_eq!(config.listen.port(), 9200);
    assert_eq!(config.login_failures_allowed, 9);
    std::fs::write(&path, "listen = [").unwrap();
    assert!(
        Config::from_sources(Some(&path), &env(&[]))
            .unwrap_err()
            .to_string()
            .contains("garrison.toml")
    );
}

#[test]
fn blueprint_intervals_default_to_five_seconds_and_an_hour() {
    let config = Config::from_sources(None, &env(&[])).unwrap();
    assert_eq!(
        config.blueprints_watch_interval,
        Some(std::time::Duration::from_secs(5))
    );
    assert_eq!(
        config.blueprints_discovery_interval,
        std::time::Duration::from_secs(3600)
    );
    let config = Config::from_sources(
        None,
        &env(&[("GARRISON_BLUEPRINTS_WATCH_INTERVAL_SECONDS", "0")]),
    )
    .unwrap();
    assert_eq!(config.blueprints_watch_interval, None, "0 turns it off");
    for (key, value) in [
        ("GARRISON_BLUEPRINTS_DISCOVERY_INTERVAL_SECONDS", "0"),
        ("GARRISON_BLUEPRINTS_DISCOVERY_INTERVAL_SECONDS", "31536001"),
        ("GARRISON_BLUEPRINTS_WATCH_INTERVAL_SECONDS", "5s"),
    ] {
        let error = Config::from_sources(None, &env(&[(key, value)]))
            .unwrap_err()
            .to_string();
        assert!(error.contains(key), "{key}={value}: {error}");
    }
}
