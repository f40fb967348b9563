//! The outpost channel over real sockets, on both stores: the reference agent connects with
//! its outpost's token, holds the current configuration, hears of changes made through
//! another replica (three on one database and cache), is told to reconnect when its token
//! rotates, hears of ended sessions, and comes back to the latest configuration after the
//! server restarts.
use crate::common;

use std::net::SocketAddr;
use std::time::Duration;

use garrison_agent::{Agent, AgentConfig, AgentEvent};
use serde_json::{Value, json};
use tokio::sync::mpsc;

/// Serves `router` on a loopback port; returns its base URL.
async fn serve(router: axum::Router) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    tokio::spawn(async move {
        axum::serve(
            listener,
            router.into_make_service_with_connect_info::<SocketAddr>(),
        )
        .await
        .ok();
    });
    format!("http://{address}")
}

/// Another replica of `env`'s Garrison: its own services (a store pool and, with Redis, its
/// own Redis connections), registry, hub and router on the same database and cache.
async fn another_replica(env: &common::Env) -> axum::Router {
    let services = if env.config.redis_url.is_some() {
        garrison::open_services(&env.config).await.unwrap()
    } else {
        // One process, one in-process bus: the replica shares it under its own origin.
        env.services.as_another_replica()
    };
    let registry = garrison::start_registry(&env.config, &services)
        .await
        .unwrap();
    let metrics = garrison::metrics_for(&registry);
    garrison::router(services, registry, &env.config, metrics)
}

async fn next_event(
    events: &mut mpsc::Receiver<AgentEvent>,
    what: &str,
    want: impl Fn(&AgentEvent) -> bool,
) -> AgentEvent {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    loop {
        let event = tokio::time::timeout_at(deadline, events.recv())
            .await
            .unwrap_or_else(|_| panic!("no {what} within 20 s"))
            .unwrap_or_else(|| panic!("the agent stopped before {what}"));
        if want(&event) {
            return event;
        }
    }
}

async fn ok(env: &common::Env, method: &str, path: &str, body: Value) -> Value {
    let (status, value) = env.admin(method, path, Some(body)).await;
    assert!(status.is_success(), "{method} {path}: {status} {value}");
    value
}

/// A proxy provider, its application and an outpost serving it; returns (outpost, provider).
async fn outpost(env: &common::Env) -> (String, i64) {
    let flow = "00000000-0000-4000-8000-000000000001";
    let provider = ok(
        env,
        "POST",
        "/providers/proxy/",
        json!({"name": "web", "authorization_flow": flow, "invalidation_flow": flow,
               "external_host": "https://web.example", "internal_host": "http://127.0.0.1:8000"}),
    )
    .await["pk"]
        .as_i64()
        .unwrap();
    ok(
        env,
        "POST",
        "/core/applications/",
        json!({"name": "Web", "slug": "web", "provider": provider}),
    )
    .await;
    let outpost = ok(
        env,
        "POST",
        "/outposts/instances/",
        json!({"name": "edge", "type": "proxy", "providers": [provider], "config": {}}),
    )
    .await["pk"]
        .as_str()
        .unwrap()
        .to_owned();
    (outpost, provider)
}

async fn health(env: &common::Env, outpost: &str) -> Value {
    let (status, body) = env
        .admin(
            "GET",
            &format!("/outposts/instances/{outpost}/health/"),
            None,
        )
        .await;
    assert_eq!(status, axum::http::StatusCode::OK, "{body}");
    body
}

async fn current_hash(env: &common::Env, outpost: &str) -> String {
    let (_, body) = env
        .admin("GET", &format!("/outposts/instances/{outpost}/"), None)
        .await;
    body["config_hash"].as_str().unwrap().to_owned()
}

both_stores!(
    an_agent_on_another_replica_converges_on_every_change,
    |env: common::Env| async move {
        let (outpost, provider) = outpost(&env).await;
        let (_, token) = env
            .admin(
                "GET",
                &format!("/outposts/instances/{outpost}/token/"),
                None,
            )
            .await;
        let key = token["key"].as_str().unwrap().to_owned();
        // Three replicas on one database and cache: A serves the API, an agent connects to
        // B and the agent under test to C.
        let replica_b = serve(another_replica(&env).await).await;
        let mut config_b = AgentConfig::new(replica_b, key.clone(), false);
        config_b.update_jitter = Duration::ZERO;
        let (sender_b, mut events_b) = mpsc::channel(64);
        let agent_b = tokio::spawn(Agent::new(config_b).run(sender_b));
        next_event(&mut events_b, "B's connection", |e| {
            matches!(e, AgentEvent::Connected { .. })
        })
        .await;
        let replica_c = serve(another_replica(&env).await).await;
        let mut config = AgentConfig::new(replica_c, key.clone(), false);
        config.update_jitter = Duration::ZERO;
        let instance = config.instance.clone();
        let (sender, mut events) = mpsc::channel(64);
        let agent = tokio::spawn(Agent::new(config).run(sender));

        let fetched = next_event(&mut events, "the first fetch", |e| {
            matches!(e, AgentEvent::Fetched { .. })
        })
        .await;
        let AgentEvent::Fetched {
            config_hash,
            providers,
            ..
        } = fetched
        else {
            unreachable!()
        };
        assert_eq!(providers, 1);
        assert_eq!(config_hash, current_hash(&env, &outpost).await);
        next_event(&mut events, "a connection", |e| {
            matches!(e, AgentEvent::Connected { .. })
        })
        .await;

        // Truthful health: connected now, the current configuration.
        let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
        loop {
            let list = health(&env, &outpost).await;
            let me = list
                .as_array()
                .and_then(|l| l.iter().find(|i| i["uid"] == instance.as_str()))
                .cloned();
            if let Some(me) = me.filter(|m| m["config_current"] == true) {
                assert_eq!(me["connected"], true);
                assert_eq!(me["version_outdated"], false);
                assert_eq!(me["config_hash"], config_hash.as_str());
                break;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "health never showed the agent: {list}"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }

        // A change through replica A reaches the agent on replica C, which refetches.
        ok(
            &env,
            "PATCH",
            &format!("/providers/proxy/{provider}/"),
            json!({"external_host": "https://changed.example"}),
        )
        .await;
        let changed = current_hash(&env, &outpost).await;
        assert_ne!(changed, config_hash, "the hash follows the change");
        next_event(&mut events, "TRIGGER_UPDATE", |e| {
            matches!(e, AgentEvent::UpdateTriggered { .. })
        })
        .await;
        next_event(
            &mut events,
            "the refetch",
            |e| matches!(e, AgentEvent::Fetched { config_hash, .. } if *config_hash == changed),
        )
        .await;
        next_event(
            &mut events_b,
            "B's refetch",
            |e| matches!(e, AgentEvent::Fetched { config_hash, .. } if *config_hash == changed),
        )
        .await;
        drop(events_b);
        agent_b.abort();

        // A login session ending reaches every outpost.
        let login = env
            .services
            .login("akadmin", common::ADMIN_PASSWORD, None, "browser")
            .await
            .unwrap();
        let caller = garrison_services::Caller::cli();
        env.services.logout(&caller, &login.session).await.unwrap();
        let ended = next_event(&mut events, "SESSION_END", |e| {
            matches!(e, AgentEvent::SessionEnded { .. })
        })
        .await;
        let AgentEvent::SessionEnded { session_id } = ended else {
            unreachable!()
        };
        assert_eq!(session_id.len(), 64, "the SHA-256 of the session key");

        // Rotating the token tells the agent to reconnect; its old key no longer works.
        ok(
            &env,
            "POST",
            &format!("/outposts/instances/{outpost}/token/rotate/"),
            json!({}),
        )
        .await;
        let gone = next_event(&mut events, "the disconnect", |e| {
            matches!(e, AgentEvent::Disconnected { .. })
        })
        .await;
        let AgentEvent::Disconnected { reason, .. } = gone else {
            unreachable!()
        };
        assert!(reason.contains("token rotated"), "{reason}");
        let (status, _) = env
            .api("GET", "/outposts/instances/", Some(&key), None)
            .await;
        assert_eq!(status, axum::http::StatusCode::UNAUTHORIZED);
        drop(events);
        agent.abort();
    }
);

both_stores!(
    the_channel_refuses_what_is_not_an_outposts_token,
    |env: common::Env| async move {
        let (outpost, _) = outpost(&env).await;
        let base = serve(env.router.clone()).await;
        let url = format!(
            "{}/ws/outpost/{outpost}/?instance_uuid=x",
            base.replace("http://", "ws://")
        );
        use tokio_tungstenite::tungstenite::client::IntoClientRequest;
        let attempt = |bearer: Option<String>| {
            let url = url.clone();
            async move {
                let mut request = url.into_client_request().unwrap();
                if let Some(bearer) = bearer {
                    request
                        .headers_mut()
                        .insert("Authorization", format!("Bearer {bearer}").parse().unwrap());
                }
                tokio_tungstenite::connect_async(request).await
            }
        };
        assert!(attempt(None).await.is_err(), "no token, no channel");
        assert!(attempt(Some("not-a-token".into())).await.is_err());
        // A plain user's token sees no outpost: refused before the upgrade.
        let plain = env
            .services
            .create_user(
                &garrison_services::Caller::cli(),
                garrison_model::UserChanges {
                    username: Some("plain".into()),
                    ..Default::default()
                },
            )
            .await
            .unwrap();
        let key = env
            .services
            .create_token(
                &garrison_services::Caller::cli(),
                garrison_model::TokenChanges {
                    identifier: Some("plain".into()),
                    user: Some(plain.pk),
                    ..Default::default()
                },
            )
            .await
            .unwrap()
            .key;
        assert!(attempt(Some(key)).await.is_err());
        // The outpost's own token opens it, and a HELLO is answered with exactly an ACK.
        let (_, token) = env
            .admin(
                "GET",
                &format!("/outposts/instances/{outpost}/token/"),
                None,
            )
            .await;
        let (mut socket, _) = attempt(Some(token["key"].as_str().unwrap().to_owned()))
            .await
            .expect("the outpost's token opens its channel");
        use futures::{SinkExt, StreamExt};
        use tokio_tungstenite::tungstenite::Message;
        socket
            .send(Message::Text(
                json!({"instruction": 1, "args": {"version": "2026.8.5", "buildHash": "", "uuid": "x"}})
                    .to_string()
                    .into(),
            ))
            .await
            .unwrap();
        let reply = tokio::time::timeout(Duration::from_secs(5), socket.next())
            .await
            .expect("a reply")
            .unwrap()
            .unwrap();
        let reply: Value = serde_json::from_str(reply.to_text().unwrap()).unwrap();
        assert_eq!(reply, json!({"instruction": 0, "args": {}}));
        // An ACK gets no reply.
        socket
            .send(Message::Text(
                json!({"instruction": 0, "args": {}}).to_string().into(),
            ))
            .await
            .unwrap();
        assert!(
            tokio::time::timeout(Duration::from_millis(300), socket.next())
                .await
                .is_err(),
            "nothing answers an ACK"
        );
        let list = health(&env, &outpost).await;
        assert_eq!(list[0]["uid"], "x");
        assert_eq!(list[0]["version"], "2026.8.5");
    }
);

/// A replica in a runtime of its own, listening on `address`: stopping it ends every task and
/// socket it has at once, as a process exit does.
struct Replica {
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Replica {
    fn start(
        config: garrison::Config,
        services: garrison_services::Services,
        address: SocketAddr,
    ) -> Replica {
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let (ready, is_ready) = std::sync::mpsc::channel();
        let thread = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .enable_all()
                .build()
                .unwrap();
            runtime.block_on(async move {
                let services = if config.redis_url.is_some() {
                    garrison::open_services(&config).await.unwrap()
                } else {
                    services.as_another_replica()
                };
                let registry = garrison::start_registry(&config, &services).await.unwrap();
                let metrics = garrison::metrics_for(&registry);
                let router = garrison::router(services, registry, &config, metrics);
                let listener = tokio::net::TcpListener::bind(address).await.unwrap();
                ready.send(()).unwrap();
                tokio::select! {
                    _ = axum::serve(listener, router.into_make_service_with_connect_info::<SocketAddr>()) => {}
                    _ = stopped => {}
                }
            });
            // Dropping the runtime here drops every connection it served.
        });
        is_ready
            .recv_timeout(Duration::from_secs(30))
            .expect("the replica starts");
        Replica {
            stop: Some(stop),
            thread: Some(thread),
        }
    }

    fn stop(mut self) {
        let _ = self.stop.take().map(|stop| stop.send(()));
        let _ = self.thread.take().map(|thread| thread.join());
    }
}

both_stores!(
    agents_reconnect_after_a_restart_and_take_the_latest_configuration,
    |env: common::Env| async move {
        let (outpost, provider) = outpost(&env).await;
        let (_, token) = env
            .admin(
                "GET",
                &format!("/outposts/instances/{outpost}/token/"),
                None,
            )
            .await;
        let key = token["key"].as_str().unwrap().to_owned();
        let address = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap();
        let replica = Replica::start(env.config.clone(), env.services.clone(), address);
        let mut agents = Vec::new();
        for _ in 0..3 {
            let mut config = AgentConfig::new(format!("http://{address}"), key.clone(), false);
            config.update_jitter = Duration::ZERO;
            let (sender, events) = mpsc::channel(64);
            agents.push((tokio::spawn(Agent::new(config).run(sender)), events));
        }
        for (_, events) in &mut agents {
            next_event(events, "a connection", |e| {
                matches!(e, AgentEvent::Connected { .. })
            })
            .await;
        }

        // The server goes away; the configuration changes while it is down (through another
        // replica, as a rolling restart would have it).
        replica.stop();
        for (_, events) in &mut agents {
            next_event(events, "the loss", |e| {
                matches!(e, AgentEvent::Disconnected { .. })
            })
            .await;
        }
        ok(
            &env,
            "PATCH",
            &format!("/providers/proxy/{provider}/"),
            json!({"external_host": "https://after-restart.example"}),
        )
        .await;
        let latest = current_hash(&env, &outpost).await;

        // Back on the same address: every agent reconnects and holds the latest configuration.
        let replica = Replica::start(env.config.clone(), env.services.clone(), address);
        for (_, events) in &mut agents {
            next_event(
                events,
                "the latest configuration",
                |e| matches!(e, AgentEvent::Fetched { config_hash, .. } if *config_hash == latest),
            )
            .await;
            next_event(events, "a reconnection", |e| {
                matches!(e, AgentEvent::Connected { .. })
            })
            .await;
        }
        let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
        loop {
            let list = health(&env, &outpost).await;
            let current = list
                .as_array()
                .map(|l| {
                    l.iter()
                        .filter(|i| i["connected"] == true && i["config_current"] == true)
                        .count()
                })
                .unwrap_or(0);
            if current == 3 {
                break;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "health after the restart: {list}"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        for (agent, _) in agents {
            agent.abort();
        }
        replica.stop();
    }
);
