//! Pulls end to end against a small registry run in a thread on loopback: what a real
//! registry never does (a manifest that does not match its digest, a blob that does not match
//! its descriptor, a redirect to an internal address) is served here on purpose.

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::sync::{Arc, Mutex};

use base64::Engine;
use serde_json::json;

use crate::client::IMAGE_MANIFEST;
use crate::{
    Allowed, BLUEPRINT_LAYER, BlueprintPath, OciError, PLUGIN_MANIFEST_LAYER, PluginReference,
    pull_blueprint, pull_plugin, sha256,
};

/// One canned answer.
#[derive(Clone)]
struct Route {
    status: u16,
    headers: Vec<(&'static str, String)>,
    body: Vec<u8>,
    /// A request without exactly this `Authorization` gets 401 with this challenge.
    auth: Option<(String, String)>,
}

impl Route {
    fn ok(body: impl Into<Vec<u8>>) -> Self {
        Self {
            status: 200,
            headers: Vec::new(),
            body: body.into(),
            auth: None,
        }
    }

    fn redirect(location: String) -> Self {
        Self {
            status: 307,
            headers: vec![("Location", location)],
            body: Vec::new(),
            auth: None,
        }
    }

    fn guarded(mut self, authorization: &str, challenge: &str) -> Self {
        self.auth = Some((authorization.to_owned(), challenge.to_owned()));
        self
    }
}

/// A request as the registry saw it: its path (with the query) and `Authorization`.
type Seen = Arc<Mutex<Vec<(String, Option<String>)>>>;

struct Registry {
    authority: String,
    routes: Arc<Mutex<HashMap<String, Route>>>,
    seen: Seen,
}

impl Registry {
    fn start() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").expect("a loopback port");
        let authority = listener.local_addr().expect("its address").to_string();
        let routes: Arc<Mutex<HashMap<String, Route>>> = Arc::default();
        let seen: Seen = Arc::default();
        let (served_routes, served_seen) = (routes.clone(), seen.clone());
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(mut stream) = stream else { continue };
                let Ok(read_half) = stream.try_clone() else {
                    continue;
                };
                let mut reader = BufReader::new(read_half);
                let mut request_line = String::new();
                if reader.read_line(&mut request_line).is_err() {
                    continue;
                }
                let target = request_line
                    .split_whitespace()
                    .nth(1)
                    .unwrap_or_default()
                    .to_owned();
                let mut authorization = None;
                loop {
                    let mut line = String::new();
                    match reader.read_line(&mut line) {
                        Ok(0) | Err(_) => break,
                        Ok(_) => {}
                    }
                    let line = line.trim_end();
                    if line.is_empty() {
                        break;
                    }
                    if let Some((name, value)) = line.split_once(':')
                        && name.eq_ignore_ascii_case("authorization")
                    {
                        authorization = Some(value.trim().to_owned());
                    }
                }
                served_seen
                    .lock()
                    .unwrap()
                    .push((target.clone(), authorization.clone()));
                let path = target.split('?').next().unwrap_or_default();
                let route = served_routes.lock().unwrap().get(path).cloned();
                let route = match route {
                    None => Route {
                        status: 404,
                        ..Route::ok(b"{\"errors\":[{\"code\":\"NOT_FOUND\"}]}".to_vec())
                    },
                    Some(route) => {
                        let refused = match &route.auth {
                            Some((wanted, challenge))
                                if authorization.as_deref() != Some(wanted.as_str()) =>
                            {
                                Some(challenge.clone())
                            }
                            _ => None,
                        };
                        match refused {
                            Some(challenge) => Route {
                                status: 401,
                                headers: vec![("WWW-Authenticate", challenge)],
                                ..Route::ok(Vec::<u8>::new())
                            },
                            None => route,
                        }
                    }
                };
                let mut head = format!(
                    "HTTP/1.1 {} X\r\nContent-Length: {}\r\nConnection: close\r\n",
                    route.status,
                    route.body.len()
                );
                for (name, value) in &route.headers {
                    head += &format!("{name}: {value}\r\n");
                }
                head += "\r\n";
                let _ = stream.write_all(head.as_bytes());
                let _ = stream.write_all(&route.body);
                let _ = stream.flush();
            }
        });
        Self {
            authority,
            routes,
            seen,
        }
    }

    fn route(&self, path: &str, route: Route) {
        self.routes.lock().unwrap().insert(path.to_owned(), route);
    }

    /// Serves `bytes` as a blob of `repository`; its descriptor.
    fn blob(&self, repository: &str, media_type: &str, bytes: &[u8]) -> serde_json::Value {
        let digest = sha256(bytes);
        self.route(
            &format!("/v2/{repository}/blobs/{digest}"),
            Route::ok(bytes.to_vec()),
        );
        json!({"mediaType": media_type, "digest": digest, "size": bytes.len()})
    }

    /// Serves an image manifest of `layers` under `reference`; its bytes.
    fn manifest(
        &self,
        repository: &str,
        reference: &str,
        layers: Vec<serde_json::Value>,
    ) -> Vec<u8> {
        let config = self.blob(
            repository,
            "application/vnd.oci.image.config.v1+json",
            b"{}",
        );
        let body = json!({
            "schemaVersion": 2,
            "mediaType": IMAGE_MANIFEST,
            "config": config,
            "layers": layers,
        })
        .to_string()
        .into_bytes();
        self.route(
            &format!("/v2/{repository}/manifests/{reference}"),
            Route::ok(body.clone()),
        );
        body
    }

    /// Listed with `http://`: allowed though on loopback, and reached over plain HTTP.
    fn allowed(&self) -> Allowed {
        Allowed::new(&[format!("http://{}", self.authority)])
    }

    fn path(&self, rest: &str) -> BlueprintPath {
        BlueprintPath::parse(&format!("oci://{}/{rest}", self.authority)).expect("a good path")
    }

    fn seen(&self) -> Vec<(String, Option<String>)> {
        self.seen.lock().unwrap().clone()
    }
}

const LIMIT: u64 = 1024 * 1024;

fn reason(error: OciError) -> String {
    error.to_string()
}

#[test]
fn a_blueprint_is_the_last_layer_of_its_media_type() {
    let registry = Registry::start();
    let first = registry.blob("team/bp", BLUEPRINT_LAYER, b"version: 1\n# first\n");
    let other = registry.blob("team/bp", "text/plain", b"not a blueprint");
    let last = registry.blob("team/bp", BLUEPRINT_LAYER, b"version: 1\n# last\n");
    let manifest = registry.manifest("team/bp", "v1", vec![first, last, other]);

    let text = pull_blueprint(&registry.path("team/bp:v1"), &registry.allowed(), LIMIT).unwrap();
    assert_eq!(text, "version: 1\n# last\n");

    // Pinned by the manifest's digest: the same artifact.
    let digest = sha256(&manifest);
    registry.route(
        &format!("/v2/team/bp/manifests/{digest}"),
        Route::ok(manifest.clone()),
    );
    let pinned = pull_blueprint(
        &registry.path(&format!("team/bp@{digest}")),
        &registry.allowed(),
        LIMIT,
    )
    .unwrap();
    assert_eq!(pinned, text);
}

#[test]
fn a_manifest_that_does_not_match_the_pinned_digest_is_refused() {
    let registry = Registry::start();
    let layer = registry.blob("team/bp", BLUEPRINT_LAYER, b"version: 1\n");
    let manifest = registry.manifest("team/bp", "v1", vec![layer]);
    // A registry that answers a digest with another manifest.
    let pinned = sha256(b"another manifest");
    registry.route(
        &format!("/v2/team/bp/manifests/{pinned}"),
        Route::ok(manifest),
    );
    let error = reason(
        pull_blueprint(
            &registry.path(&format!("team/bp@{pinned}")),
            &registry.allowed(),
            LIMIT,
        )
        .unwrap_err(),
    );
    assert!(error.contains("not the pinned digest"), "{error}");
    assert!(error.contains(&pinned), "{error}");
}

#[test]
fn blobs_are_checked_against_their_descriptors_and_bounded() {
    let registry = Registry::start();
    let good = b"version: 1\n".to_vec();
    let descriptor = registry.blob("team/bp", BLUEPRINT_LAYER, &good);
    registry.manifest("team/bp", "v1", vec![descriptor.clone()]);
    // The blob now answers other bytes than its digest names.
    registry.route(
        &format!(
            "/v2/team/bp/blobs/{}",
            descriptor["digest"].as_str().unwrap()
        ),
        Route::ok(b"version: 2\n".to_vec()),
    );
    let error = reason(
        pull_blueprint(&registry.path("team/bp:v1"), &registry.allowed(), LIMIT).unwrap_err(),
    );
    assert!(error.contains("does not match its digest"), "{error}");

    let big = registry.blob("team/big", BLUEPRINT_LAYER, &[b'#'; 100]);
    registry.manifest("team/big", "v1", vec![big]);
    let error =
        reason(pull_blueprint(&registry.path("team/big:v1"), &registry.allowed(), 99).unwrap_err());
    assert!(error.contains("the limit is 99"), "{error}");

    let latin1 = registry.blob("team/latin", BLUEPRINT_LAYER, b"name: caf\xe9\n");
    registry.manifest("team/latin", "v1", vec![latin1]);
    let error = reason(
        pull_blueprint(&registry.path("team/latin:v1"), &registry.allowed(), LIMIT).unwrap_err(),
    );
    assert!(error.contains("not UTF-8"), "{error}");
}

#[test]
fn missing_layers_and_manifests_are_named() {
    let registry = Registry::start();
    let other = registry.blob("team/bp", "text/plain", b"x");
    registry.manifest("team/bp", "v1", vec![other]);
    let error = reason(
        pull_blueprint(&registry.path("team/bp:v1"), &registry.allowed(), LIMIT).unwrap_err(),
    );
    assert!(
        error.contains(&format!("no layer of media type {BLUEPRINT_LAYER}")),
        "{error}"
    );

    let error = reason(
        pull_blueprint(&registry.path("team/bp:v9"), &registry.allowed(), LIMIT).unwrap_err(),
    );
    assert!(error.contains("team/bp has no manifest v9"), "{error}");
    assert!(error.contains("404"), "{error}");
}

#[test]
fn an_unlisted_internal_registry_is_refused_before_any_request() {
    let registry = Registry::start();
    let layer = registry.blob("team/bp", BLUEPRINT_LAYER, b"version: 1\n");
    registry.manifest("team/bp", "v1", vec![layer]);
    let error = reason(
        pull_blueprint(&registry.path("team/bp:v1"), &Allowed::default(), LIMIT).unwrap_err(),
    );
    assert!(error.contains("an internal address"), "{error}");
    assert!(registry.seen().is_empty(), "nothing was sent");
}

#[test]
fn redirects_are_followed_only_where_a_pull_may_go() {
    let registry = Registry::start();
    let bytes = b"version: 1\n".to_vec();
    let descriptor = registry.blob("team/bp", BLUEPRINT_LAYER, &bytes);
    let digest = descriptor["digest"].as_str().unwrap().to_owned();
    registry.manifest("team/bp", "v1", vec![descriptor]);
    // The blob moved to a storage path of the same registry: followed.
    registry.route("/storage/bp", Route::ok(bytes.clone()));
    registry.route(
        &format!("/v2/team/bp/blobs/{digest}"),
        Route::redirect(format!("http://{}/storage/bp", registry.authority)),
    );
    let text = pull_blueprint(&registry.path("team/bp:v1"), &registry.allowed(), LIMIT).unwrap();
    assert_eq!(text, "version: 1\n");

    // A redirect to an internal address nobody listed: refused, not followed.
    let port = registry.authority.rsplit_once(':').unwrap().1;
    registry.route(
        &format!("/v2/team/bp/blobs/{digest}"),
        Route::redirect(format!("http://127.0.0.2:{port}/storage/bp")),
    );
    let error = reason(
        pull_blueprint(&registry.path("team/bp:v1"), &registry.allowed(), LIMIT).unwrap_err(),
    );
    assert!(error.contains("127.0.0.2"), "{error}");
    assert!(error.contains("an internal address"), "{error}");

    // A loop ends.
    registry.route(
        &format!("/v2/team/bp/blobs/{digest}"),
        Route::redirect(format!("/v2/team/bp/blobs/{digest}")),
    );
    let error = reason(
        pull_blueprint(&registry.path("team/bp:v1"), &registry.allowed(), LIMIT).unwrap_err(),
    );
    assert!(error.contains("redirects"), "{error}");
}

#[test]
fn credentials_go_to_the_token_service_and_nowhere_else() {
    let registry = Registry::start();
    let basic = format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode("robot:pw")
    );
    let challenge = format!(
        "Bearer realm=\"http://{}/token\",service=\"fake\"",
        registry.authority
    );
    let layer = registry.blob("team/bp", BLUEPRINT_LAYER, b"version: 1\n");
    let layer_digest = layer["digest"].as_str().unwrap().to_owned();
    let manifest = registry.manifest("team/bp", "v1", vec![layer]);
    registry.route(
        "/v2/team/bp/manifests/v1",
        Route::ok(manifest).guarded("Bearer t0k", &challenge),
    );
    registry.route(
        &format!("/v2/team/bp/blobs/{layer_digest}"),
        Route::ok(b"version: 1\n".to_vec()).guarded("Bearer t0k", &challenge),
    );
    registry.route(
        "/token",
        Route::ok(b"{\"token\":\"t0k\"}".to_vec()).guarded(&basic, "Basic realm=\"fake\""),
    );

    let path =
        BlueprintPath::parse(&format!("oci://robot:pw@{}/team/bp:v1", registry.authority)).unwrap();
    let text = pull_blueprint(&path, &registry.allowed(), LIMIT).unwrap();
    assert_eq!(text, "version: 1\n");
    let seen = registry.seen();
    let token_requests: Vec<_> = seen
        .iter()
        .filter(|(target, _)| target.starts_with("/token?"))
        .collect();
    assert_eq!(token_requests.len(), 1, "{seen:?}");
    assert!(
        token_requests[0]
            .0
            .contains("scope=repository:team/bp:pull")
            && token_requests[0].0.contains("service=fake"),
        "{seen:?}"
    );
    assert_eq!(token_requests[0].1.as_deref(), Some(basic.as_str()));
    for (target, authorization) in &seen {
        if !target.starts_with("/token") {
            assert_ne!(
                authorization.as_deref(),
                Some(basic.as_str()),
                "the registry itself gets the token: {target}"
            );
        }
    }

    // Wrong credentials: refused, and the message holds none of them.
    let wrong = BlueprintPath::parse(&format!(
        "oci://robot:nope@{}/team/bp:v1",
        registry.authority
    ))
    .unwrap();
    let error = reason(pull_blueprint(&wrong, &registry.allowed(), LIMIT).unwrap_err());
    assert!(error.contains("refused the credentials"), "{error}");
    assert!(!error.contains("nope"), "{error}");

    // A registry asking for basic credentials, given none.
    registry.route(
        "/v2/team/basic/manifests/v1",
        Route::ok(b"{}".to_vec()).guarded(&basic, "Basic realm=\"fake\""),
    );
    let error = reason(
        pull_blueprint(&registry.path("team/basic:v1"), &registry.allowed(), LIMIT).unwrap_err(),
    );
    assert!(error.contains("asks for credentials"), "{error}");
}

#[test]
fn plugins_are_pulled_by_digest_with_their_manifest_layer() {
    let registry = Registry::start();
    let component = registry.blob("garrison/hook", "application/wasm", b"\0asm fake");
    let manifest_layer =
        registry.blob("garrison/hook", PLUGIN_MANIFEST_LAYER, b"name = \"hook\"\n");
    let manifest = registry.manifest("garrison/hook", "latest", vec![component, manifest_layer]);
    let digest = sha256(&manifest);
    registry.route(
        &format!("/v2/garrison/hook/manifests/{digest}"),
        Route::ok(manifest),
    );
    let reference = PluginReference::parse(&format!(
        "http://{}/garrison/hook@{digest}",
        registry.authority
    ))
    .unwrap();
    // A plugin reference's host[:port] listing (no http://) is enough: its scheme is its own.
    let allowed = Allowed::new(std::slice::from_ref(&registry.authority));
    let pulled = pull_plugin(&reference, &allowed).unwrap();
    assert_eq!(pulled.component, b"\0asm fake");
    assert_eq!(pulled.manifest.as_deref(), Some("name = \"hook\"\n"));

    let error = reason(pull_plugin(&reference, &Allowed::default()).unwrap_err());
    assert!(error.contains("an internal address"), "{error}");
}
