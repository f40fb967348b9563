//! Static assets: the stylesheet, the avatar, and the hydration bundle (embedded at build time
//! or read from GARRISON_SITE_DIR).
use std::path::PathBuf;

use axum::extract::{Path, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};

mod bundle {
    include!(concat!(env!("OUT_DIR"), "/bundle.rs"));
}

const CSS: &str = include_str!("../../style/garrison.css");
const AVATAR: &str = include_str!("../../style/avatar.svg");

/// True when the browser bundle is available, so pages hydrate.
pub fn bundle_available(site_dir: &Option<PathBuf>) -> bool {
    site_dir
        .as_ref()
        .is_some_and(|d| d.join("pkg/garrison.js").is_file())
        || !bundle::JS.is_empty()
}

pub async fn stylesheet() -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/css; charset=utf-8"),
            (header::CACHE_CONTROL, "no-cache"),
        ],
        CSS,
    )
        .into_response()
}

pub async fn avatar() -> Response {
    ([(header::CONTENT_TYPE, "image/svg+xml")], AVATAR).into_response()
}

pub async fn package(
    State(site_dir): State<Option<PathBuf>>,
    Path(file): Path<String>,
) -> Response {
    let content_type = if file.ends_with(".js") {
        "text/javascript"
    } else if file.ends_with(".wasm") {
        "application/wasm"
    } else {
        return StatusCode::NOT_FOUND.into_response();
    };
    if let Some(dir) = site_dir {
        if file.contains('/') || file.contains("..") {
            return StatusCode::NOT_FOUND.into_response();
        }
        return match tokio::fs::read(dir.join("pkg").join(&file)).await {
            Ok(bytes) => ([(header::CONTENT_TYPE, content_type)], bytes).into_response(),
            Err(_) => StatusCode::NOT_FOUND.into_response(),
        };
    }
    let bytes: &'static [u8] = match file.as_str() {
        "garrison.js" => bundle::JS,
        "garrison_bg.wasm" => bundle::WASM,
        _ => &[],
    };
    if bytes.is_empty() {
        return StatusCode::NOT_FOUND.into_response();
    }
    (
        [
            (header::CONTENT_TYPE, content_type),
            (header::CACHE_CONTROL, "no-cache"),
        ],
        bytes,
    )
        .into_response()
}
