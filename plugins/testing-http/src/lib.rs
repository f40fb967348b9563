//! A hook for the host's tests that makes one outbound request: GET the URL in the event's
//! context (`scheme://authority/path`). It passes when the answer is 200 and reports the error
//! code the host gave when the request was refused, so tests can tell a denial from a failure.
use garrison_plugin_sdk::policy::{Decision, Event, Guest, PluginError};
use wasip2::http::outgoing_handler;
use wasip2::http::types::{Fields, Method, OutgoingRequest, Scheme};

struct Fetch;

fn fail(message: impl Into<String>) -> PluginError {
    PluginError {
        message: message.into(),
    }
}

fn get(url: &str) -> Result<u16, PluginError> {
    let (scheme, rest) = url
        .split_once("://")
        .ok_or_else(|| fail(format!("not a URL: {url}")))?;
    let (authority, path) = match rest.find('/') {
        Some(at) => rest.split_at(at),
        None => (rest, "/"),
    };
    let scheme = match scheme {
        "http" => Scheme::Http,
        "https" => Scheme::Https,
        other => Scheme::Other(other.to_owned()),
    };
    let request = OutgoingRequest::new(Fields::new());
    let invalid = |what: &str| fail(format!("invalid {what} in {url}"));
    request
        .set_method(&Method::Get)
        .map_err(|()| invalid("method"))?;
    request
        .set_scheme(Some(&scheme))
        .map_err(|()| invalid("scheme"))?;
    request
        .set_authority(Some(authority))
        .map_err(|()| invalid("authority"))?;
    request
        .set_path_with_query(Some(path))
        .map_err(|()| invalid("path"))?;
    let pending = outgoing_handler::handle(request, None)
        .map_err(|code| fail(format!("refused: {code:?}")))?;
    pending.subscribe().block();
    let response = pending
        .get()
        .ok_or_else(|| fail("no response after waiting"))?
        .map_err(|()| fail("response taken twice"))?
        .map_err(|code| fail(format!("refused: {code:?}")))?;
    Ok(response.status())
}

impl Guest for Fetch {
    fn evaluate(event: Event) -> Result<Decision, PluginError> {
        let status = get(event.context.trim())?;
        Ok(Decision {
            pass: status == 200,
            messages: vec![format!("status {status}")],
        })
    }
}

garrison_plugin_sdk::export_policy!(Fetch);
