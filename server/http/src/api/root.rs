use axum::Json;
use serde_json::{Value, json};

/// authentik's `/root/config/`: what clients read first. Garrison reports no error reporting
/// and no optional capabilities.
#[utoipa::path(get, path = "/root/config/", tag = "root", operation_id = "root_config_retrieve",
    responses((status = 200, description = "Config")))]
pub async fn config() -> Json<Value> {
    Json(json!({
        "error_reporting": {
            "enabled": false,
            "sentry_dsn": "",
            "environment": "",
            "send_pii": false,
            "traces_sample_rate": 0.0
        },
        "capabilities": [],
        "cache_timeout": 300,
        "cache_timeout_flows": 300,
        "cache_timeout_policies": 300
    }))
}
