//! Static assets: the stylesheet, the avatar, and the hydration bundle (embedded at build time
//! or read once from GARRISON_SITE_DIR at start).
//!
//! The bundle is served under a content-hashed name (`/pkg/garrison.HASH.js`,
//! `/pkg/garrison.HASH_bg.wasm`) with immutable caching: a browser downloads it once per
//! release and never revalidates it. Each file is sent in the smallest encoding the browser
//! accepts, from variants compressed at build time (brotli, gzip).
use std::path::{Path as FsPath, PathBuf};
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use sha2::{Digest, Sha256};

mod embedded {
    include!(concat!(env!("OUT_DIR"), "/bundle.rs"));
}

const CSS: &str = include_str!("../../style/garrison.css");
const AVATAR: &str = include_str!("../../style/avatar.svg");
const IMMUTABLE: &str = "public, max-age=31536000, immutable";

/// One bundle file in each encoding it was built in (empty: not available).
#[derive(Clone, Debug, Default)]
struct Encoded {
    identity: Bytes,
    brotli: Bytes,
    gzip: Bytes,
}

impl Encoded {
    fn read(dir: &FsPath, file: &str) -> Option<Self> {
        let read = |name: String| {
            std::fs::read(dir.join(name))
                .map(Bytes::from)
                .unwrap_or_default()
        };
        let identity = std::fs::read(dir.join(file)).ok()?;
        Some(Self {
            identity: identity.into(),
            brotli: read(format!("{file}.br")),
            gzip: read(format!("{file}.gz")),
        })
    }

    /// The variant for a request's `Accept-Encoding`: brotli, then gzip, then as is.
    fn negotiate(&self, headers: &HeaderMap) -> (Option<&'static str>, Bytes) {
        let accepted = headers
            .get(header::ACCEPT_ENCODING)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default();
        let accepts = |coding: &str| {
            accepted.split(',').any(|part| {
                let mut fields = part.split(';');
                let name = fields.next().unwrap_or_default().trim();
                let refused = fields.any(|f| {
                    f.trim()
                        .strip_prefix("q=")
                        .and_then(|q| q.trim().parse::<f32>().ok())
                        == Some(0.0)
                });
                name.eq_ignore_ascii_case(coding) && !refused
            })
        };
        if !self.brotli.is_empty() && accepts("br") {
            (Some("br"), self.brotli.clone())
        } else if !self.gzip.is_empty() && accepts("gzip") {
            (Some("gzip"), self.gzip.clone())
        } else {
            (None, self.identity.clone())
        }
    }
}

/// The hydration bundle, loaded once.
#[derive(Clone, Debug)]
pub struct Bundle {
    js: Encoded,
    wasm: Encoded,
    /// The first 16 hex digits of SHA-256 over both files: part of their URLs.
    hash: String,
}

impl Bundle {
    /// The bundle in `site_dir/pkg` when a site directory is configured, else the one built
    /// into the binary; `None` when there is none (pages then render without hydration).
    pub fn load(site_dir: &Option<PathBuf>) -> Option<Arc<Bundle>> {
        let (js, wasm) = match site_dir {
            Some(dir) => {
                let pkg = dir.join("pkg");
                (
                    Encoded::read(&pkg, "garrison.js")?,
                    Encoded::read(&pkg, "garrison_bg.wasm")?,
                )
            }
            None if !embedded::JS.is_empty() => (
                Encoded {
                    identity: Bytes::from_static(embedded::JS),
                    brotli: Bytes::from_static(embedded::JS_BR),
                    gzip: Bytes::from_static(embedded::JS_GZ),
                },
                Encoded {
                    identity: Bytes::from_static(embedded::WASM),
                    brotli: Bytes::from_static(embedded::WASM_BR),
                    gzip: Bytes::from_static(embedded::WASM_GZ),
                },
            ),
            None => return None,
        };
        let mut digest = Sha256::new();
        digest.update(&js.identity);
        digest.update(&wasm.identity);
        let hash = hex::encode(digest.finalize())[..16].to_owned();
        Some(Arc::new(Bundle { js, wasm, hash }))
    }

    /// The name Leptos writes into every page's script tags (`garrison.HASH`): the JS is
    /// `NAME.js`, the WebAssembly `NAME_bg.wasm`.
    pub fn output_name(&self) -> String {
        format!("garrison.{}", self.hash)
    }
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

/// The blueprint JSON schema for editors (the same document `garrison blueprint schema`
/// prints). Public, as authentik's is: it names models and fields, nothing stored.
pub async fn blueprint_schema() -> Response {
    static SCHEMA: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    let text = SCHEMA.get_or_init(|| garrison_services::blueprints::json_schema().to_string());
    (
        [
            (header::CONTENT_TYPE, "application/schema+json"),
            (header::CACHE_CONTROL, "no-cache"),
        ],
        text.as_str(),
    )
        .into_response()
}

/// `/pkg/{file}`: the bundle under its current hashed names; anything else (an old hash
/// after an upgrade included) is 404, so a browser never caches a mismatched pair.
pub async fn package(
    State(bundle): State<Option<Arc<Bundle>>>,
    Path(file): Path<String>,
    headers: HeaderMap,
) -> Response {
    let Some(bundle) = bundle else {
        return StatusCode::NOT_FOUND.into_response();
    };
    let name = bundle.output_name();
    let (encoded, content_type) = if file == format!("{name}.js") {
        (&bundle.js, "text/javascript")
    } else if file == format!("{name}_bg.wasm") {
        (&bundle.wasm, "application/wasm")
    } else {
        return StatusCode::NOT_FOUND.into_response();
    };
    let (encoding, bytes) = encoded.negotiate(&headers);
    let mut response = (
        [
            (header::CONTENT_TYPE, content_type),
            (header::CACHE_CONTROL, IMMUTABLE),
            (header::VARY, "Accept-Encoding"),
        ],
        bytes,
    )
        .into_response();
    if let Some(encoding) = encoding {
        response
            .headers_mut()
            .insert(header::CONTENT_ENCODING, HeaderValue::from_static(encoding));
    }
    response
}
