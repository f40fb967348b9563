//! The admin UI's plugin upload: a plain multipart form (it works without JavaScript), so it
//! is a handler rather than a server function. It installs through the registry like the API
//! and sends the browser to the new plugin's review page, or back with the error.
use axum::extract::{Request, State};
use axum::response::{IntoResponse, Redirect, Response};
use garrison_http::plugin_upload::read_upload;
use garrison_http::{ApiError, AppState, RequestIdentity};
use garrison_registry::InstallSource;
use garrison_services::Via;

use crate::messages;

fn back_with(message: &str) -> Response {
    let query = serde_urlencoded::to_string([("error", message)]).unwrap_or_default();
    Redirect::to(&format!("/plugins?{query}")).into_response()
}

fn message(error: ApiError) -> String {
    match error {
        ApiError::Service(error) => messages::for_people(&error),
        ApiError::BadRequest(errors) => errors.to_string(),
        ApiError::NotFound => "Not found.".into(),
        ApiError::MethodNotAllowed => "Method not allowed.".into(),
        ApiError::Unauthenticated => "Log in first.".into(),
    }
}

pub async fn upload_plugin(State(state): State<AppState>, request: Request) -> Response {
    let caller = request
        .extensions()
        .get::<RequestIdentity>()
        .and_then(|identity| {
            identity.caller(Via::Ui {
                path: "/plugins".into(),
            })
        });
    let Some(caller) = caller else {
        return Redirect::to("/login?next=/plugins").into_response();
    };
    let upload = match read_upload(request).await {
        Ok(upload) => upload,
        Err(error) => return back_with(&message(error)),
    };
    let (Some((filename, bytes)), Some(manifest)) = (upload.component, upload.manifest) else {
        return back_with("Choose both the component (.wasm) and its manifest.");
    };
    match state
        .registry
        .install(
            &caller,
            &manifest,
            &bytes,
            InstallSource::Upload { filename },
        )
        .await
    {
        Ok(plugin) => Redirect::to(&format!("/plugins/{}", plugin.name)).into_response(),
        Err(error) => back_with(&message(ApiError::Service(error))),
    }
}
