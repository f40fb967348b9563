//! A plugin upload as a multipart body (component file + manifest), read the same way by the
//! API and by the browser's upload form.
use axum::extract::Request;
use axum::http::header;
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
    let boundary = request
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| multer::parse_boundary(v).ok())
        .ok_or_else(|| {
            bad(
                "non_field_errors",
                "expected multipart/form-data with fields component and manifest",
            )
        })?;
    let stream = request.into_body().into_data_stream();
    let mut multipart = multer::Multipart::new(stream, boundary);
    let mut upload = Upload::default();
    loop {
        let field = match multipart.next_field().await {
            Ok(Some(field)) => field,
            Ok(None) => break,
            Err(error) => {
                return Err(bad(
                    "non_field_errors",
                    format!("malformed upload: {error}"),
                ));
            }
        };
        let name = field.name().unwrap_or_default().to_owned();
        let filename = field.file_name().unwrap_or("component.wasm").to_owned();
        let bytes = field
            .bytes()
            .await
            .map_err(|e| bad(&name, format!("cannot read: {e}")))?;
        match name.as_str() {
            "component" if !bytes.is_empty() => upload.component = Some((filename, bytes.to_vec())),
            "manifest" if !bytes.is_empty() => {
                upload.manifest = Some(
                    String::from_utf8(bytes.to_vec())
                        .map_err(|_| bad("manifest", "must be UTF-8 text"))?,
                )
            }
            _ => {}
        }
    }
    Ok(upload)
}
