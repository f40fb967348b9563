//! A plugin upload as a multipart body (component file + manifest), read the same way by the
//! API and by the browser's upload form.
use axum::extract::Request;
use garrison_model::FieldErrors;

use crate::ApiError;

fn bad(field: &str, message: impl Into<String>) -> ApiError {
    ApiError::BadRequest(FieldErrors::single(field, message))
}

/// The parts of a multipart upload: the component file and its manifest.
#[derive(Default)]
pub struct Upload {
    pub component: Option<(String, Vec<u8>)>,
    pub manifest: Option<String>,
}

pub async fn read_upload(request: Request) -> Result<Upload, ApiError> {
    let parts =
        crate::api::extract::multipart_parts(request, "fields component and manifest").await?;
    let mut upload = Upload::default();
    for part in parts {
        match part.name.as_str() {
            "component" if !part.bytes.is_empty() => {
                let filename = part.filename.unwrap_or_else(|| "component.wasm".to_owned());
                upload.component = Some((filename, part.bytes));
            }
            "manifest" if !part.bytes.is_empty() => {
                upload.manifest = Some(
                    String::from_utf8(part.bytes)
                        .map_err(|_| bad("manifest", "must be UTF-8 text"))?,
                )
            }
            _ => {}
        }
    }
    Ok(upload)
}
