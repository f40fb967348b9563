//! Load figures for the outpost channel, printed for `scripts/bench-outposts.sh`, which starts
//! the release server and calls this twice:
//!
//! `fanout URL ADMIN_TOKEN AGENTS ROUNDS`: AGENTS reference agents serve one proxy outpost.
//! Each round changes its provider through the API and times, for every agent, the arrival of
//! TRIGGER_UPDATE from the moment the change was sent (so the figure includes the request, the
//! commit and the permission rebuild). Beside it, in the same run, the same frame is broadcast
//! by a bare tokio-tungstenite server to as many bare clients: the floor this machine sets.
//!
//! `idle URL ADMIN_TOKEN CONNECTIONS SECONDS SERVER_PID`: CONNECTIONS websockets say HELLO
//! every 10 s, as outposts do, for SECONDS once all are open; prints the server's resident
//! memory and the CPU it used over that window.
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use futures::{SinkExt, StreamExt};
use garrison_agent::{Agent, AgentConfig, AgentEvent};
use serde_json::{Value, json};
use tokio::sync::{Semaphore, broadcast, mpsc};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::HeaderValue;

type Failure = Box<dyn std::error::Error + Send + Sync>;

fn usage() -> ! {
    eprintln!(
        "usage: outpost_load fanout URL ADMIN_TOKEN AGENTS ROUNDS\n       \
         outpost_load idle URL ADMIN_TOKEN CONNECTIONS SECONDS SERVER_PID"
    );
    std::process::exit(2)
}

fn arg<T: std::str::FromStr>(args: &[String], index: usize) -> T {
    args.get(index)
        .and_then(|value| value.parse().ok())
        .unwrap_or_else(|| usage())
}

#[tokio::main]
async fn main() -> Result<(), Failure> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let api = Api {
        url: arg::<String>(&args, 1).trim_end_matches('/').to_owned(),
        token: arg(&args, 2),
    };
    match args.first().map(String::as_str) {
        Some("fanout") => fanout(api, arg(&args, 3), arg(&args, 4)).await,
        Some("idle") => idle(api, arg(&args, 3), arg(&args, 4), arg(&args, 5)).await,
        _ => usage(),
    }
}

/// The administrator's side: blocking HTTP on the blocking pool.
#[derive(Clone)]
struct Api {
    url: String,
    token: String,
}

impl Api {
    async fn call(
        &self,
        method: &'static str,
        path: String,
        body: Option<Value>,
    ) -> Result<Value, Failure> {
        let api = self.clone();
        tokio::task::spawn_blocking(move || {
            let agent: ureq::Agent = ureq::Agent::config_builder()
                .http_status_as_error(false)
                .build()
                .into();
            let url = format!("{}/api/v3{path}", api.url);
            let bearer = format!("Bearer {}", api.token);
            let mut response = match (method, body) {
                ("GET", _) => agent.get(&url).header("Authorization", &bearer).call()?,
                (_, body) => {
                    let body = body.unwrap_or(Value::Null).to_string();
                    let request = match method {
                        "POST" => agent.post(&url),
                        _ => agent.patch(&url),
                    };
                    request
                        .header("Authorization", &bearer)
                        .header("Content-Type", "application/json")
                        .send(body)?
                }
            };
            let status = response.status().as_u16();
            let text = response.body_mut().read_to_string()?;
            if status >= 300 {
                return Err(format!("{method} {path}: {status} {text}").into());
            }
            Ok(serde_json::from_str(&text)?)
        })
        .await?
    }

    /// A proxy provider and an outpost serving it; returns (provider pk, outpost uuid, token).
    async fn outpost(&self, name: &str) -> Result<(i64, String, String), Failure> {
        let flow = "00000000-0000-4000-8000-000000000001";
        let provider = self
            .call(
                "POST",
                "/providers/proxy/".into(),
                Some(json!({
                    "name": format!("{name}-provider"),
                    "authorization_flow": flow,
                    "invalidation_flow": flow,
                    "external_host": "https://app-0.bench.example",
                    "mode": "forward_single",
                })),
            )
            .await?;
        let provider = provider["pk"].as_i64().ok_or("the provider has no pk")?;
        let outpost = self
            .call(
                "POST",
                "/outposts/instances/".into(),
                Some(json!({"name": name, "type": "proxy", "providers": [provider], "config": {}})),
            )
            .await?;
        let uuid = outpost["pk"]
            .as_str()
            .ok_or("the outpost has no pk")?
            .to_owned();
        let token = self
            .call("GET", format!("/outposts/instances/{uuid}/token/"), None)
            .await?;
        let token = token["key"].as_str().ok_or("no token key")?.to_owned();
        Ok((provider, uuid, token))
    }
}

struct Figures {
    p50: Duration,
    p99: Duration,
    max: Duration,
    samples: usize,
}

impl Figures {
    fn of(mut samples: Vec<Duration>) -> Figures {
        samples.sort();
        let at = |percent: usize| samples[(samples.len() * percent / 100).min(samples.len() - 1)];
        Figures {
            p50: at(50),
            p99: at(99),
            max: *samples.last().unwrap_or(&Duration::ZERO),
            samples: samples.len(),
        }
    }
}

impl std::fmt::Display for Figures {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let ms = |d: Duration| d.as_secs_f64() * 1000.0;
        write!(
            f,
            "p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms ({} deliveries)",
            ms(self.p50),
            ms(self.p99),
            ms(self.max),
            self.samples
        )
    }
}

async fn fanout(api: Api, agents: usize, rounds: usize) -> Result<(), Failure> {
    let (provider, _, token) = api
        .outpost(&format!("bench-fanout-{}", std::process::id()))
        .await?;
    let (events_tx, mut events) = mpsc::channel::<(usize, AgentEvent)>(agents * 4);
    for index in 0..agents {
        let mut config = AgentConfig::new(api.url.clone(), token.clone(), false);
        // Short jitter so that a round's refetches are over before the next round.
        config.update_jitter = Duration::from_millis(1500);
        let (tx, mut rx) = mpsc::channel(16);
        tokio::spawn(Agent::new(config).run(tx));
        let forward = events_tx.clone();
        tokio::spawn(async move {
            while let Some(event) = rx.recv().await {
                if forward.send((index, event)).await.is_err() {
                    break;
                }
            }
        });
    }
    let started = Instant::now();
    let mut connected = vec![false; agents];
    let mut open = 0;
    while open < agents {
        match tokio::time::timeout(Duration::from_secs(60), events.recv()).await {
            Ok(Some((index, AgentEvent::Connected { .. }))) if !connected[index] => {
                connected[index] = true;
                open += 1;
            }
            Ok(Some((_, AgentEvent::Disconnected { reason, .. }))) => {
                return Err(format!("an agent could not connect: {reason}").into());
            }
            Ok(Some(_)) => {}
            _ => {
                return Err(format!("only {open} of {agents} agents connected within 60 s").into());
            }
        }
    }
    println!(
        "{agents} agents connected in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    tokio::time::sleep(Duration::from_secs(1)).await;

    let mut latencies = Vec::with_capacity(agents * rounds);
    let mut requests = Vec::with_capacity(rounds);
    for round in 1..=rounds {
        let sent = Instant::now();
        api.call(
            "PATCH",
            format!("/providers/proxy/{provider}/"),
            Some(json!({"external_host": format!("https://app-{round}.bench.example")})),
        )
        .await?;
        requests.push(sent.elapsed());
        let (mut triggered, mut refetched) = (0, 0);
        let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
        while triggered < agents || refetched < agents {
            match tokio::time::timeout_at(deadline, events.recv()).await {
                Ok(Some((_, AgentEvent::UpdateTriggered { at }))) => {
                    latencies.push(at.saturating_duration_since(sent));
                    triggered += 1;
                }
                Ok(Some((_, AgentEvent::Fetched { .. }))) => refetched += 1,
                Ok(Some(_)) => {}
                _ => {
                    return Err(format!(
                        "round {round}: {triggered} of {agents} agents heard the change, {refetched} refetched, within 20 s"
                    )
                    .into());
                }
            }
        }
    }
    let garrison = Figures::of(latencies);
    let request = Figures::of(requests);
    let raw = raw_broadcast(agents, rounds).await?;
    println!("change sent → TRIGGER_UPDATE at each of {agents} agents, {rounds} rounds:");
    println!("  garrison:      {garrison}");
    println!("  raw broadcast: {raw}");
    println!(
        "  ratio p99: {:.2}; the change's API call alone: {request}",
        garrison.p99.as_secs_f64() / raw.p99.as_secs_f64().max(1e-9)
    );
    Ok(())
}

/// The floor: a bare tokio-tungstenite server broadcasting the same frame to as many bare
/// clients, timed from the send to each arrival.
async fn raw_broadcast(clients: usize, rounds: usize) -> Result<Figures, Failure> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let address = listener.local_addr()?;
    let (frames, _) = broadcast::channel::<String>(16);
    let server_frames = frames.clone();
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            let mut frames = server_frames.subscribe();
            tokio::spawn(async move {
                let Ok(socket) = tokio_tungstenite::accept_async(stream).await else {
                    return;
                };
                let (mut sink, mut stream) = socket.split();
                loop {
                    tokio::select! {
                        frame = frames.recv() => match frame {
                            Ok(text) => if sink.send(Message::Text(text.into())).await.is_err() { return },
                            Err(_) => return,
                        },
                        incoming = stream.next() => if incoming.is_none() { return },
                    }
                }
            });
        }
    });
    let (arrivals_tx, mut arrivals) = mpsc::channel::<Instant>(clients * 2);
    let ready = Arc::new(AtomicUsize::new(0));
    for _ in 0..clients {
        let arrivals = arrivals_tx.clone();
        let ready = ready.clone();
        let (socket, _) = tokio_tungstenite::connect_async(format!("ws://{address}/")).await?;
        tokio::spawn(async move {
            let (_sink, mut stream) = socket.split();
            ready.fetch_add(1, Ordering::SeqCst);
            while let Some(Ok(message)) = stream.next().await {
                if message.is_text() && arrivals.send(Instant::now()).await.is_err() {
                    return;
                }
            }
        });
    }
    while frames.receiver_count() < clients || ready.load(Ordering::SeqCst) < clients {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let frame = json!({"instruction": 2, "args": {}}).to_string();
    let mut latencies = Vec::with_capacity(clients * rounds);
    for _ in 0..rounds {
        tokio::time::sleep(Duration::from_millis(500)).await;
        let sent = Instant::now();
        frames.send(frame.clone())?;
        for _ in 0..clients {
            let at = tokio::time::timeout(Duration::from_secs(20), arrivals.recv())
                .await?
                .ok_or("the raw clients stopped")?;
            latencies.push(at.saturating_duration_since(sent));
        }
    }
    Ok(Figures::of(latencies))
}

/// Jiffies of user plus system time the process has used, and its resident memory in KiB.
fn process_usage(pid: u32) -> Result<(u64, u64), Failure> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat"))?;
    // Fields after the command name, which is in parentheses and may hold spaces.
    let after = stat.rsplit_once(')').ok_or("unreadable /proc stat")?.1;
    let fields: Vec<&str> = after.split_whitespace().collect();
    let jiffies = fields[11].parse::<u64>()? + fields[12].parse::<u64>()?;
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))?;
    let rss = status
        .lines()
        .find_map(|line| line.strip_prefix("VmRSS:"))
        .and_then(|value| value.split_whitespace().next())
        .ok_or("no VmRSS")?
        .parse()?;
    Ok((jiffies, rss))
}

async fn idle(api: Api, connections: usize, seconds: u64, server: u32) -> Result<(), Failure> {
    let (_, uuid, token) = api
        .outpost(&format!("bench-idle-{}", std::process::id()))
        .await?;
    let (_, rss_before) = process_usage(server)?;
    let ws = api.url.replacen("http", "ws", 1);
    let opening = Arc::new(Semaphore::new(256));
    let open = Arc::new(AtomicUsize::new(0));
    let failed = Arc::new(AtomicUsize::new(0));
    let started = Instant::now();
    for index in 0..connections {
        let permit = opening.clone().acquire_owned().await?;
        let url = format!("{ws}/ws/outpost/{uuid}/?instance_uuid=idle-{index}");
        let bearer = HeaderValue::from_str(&format!("Bearer {token}"))?;
        let (open, failed) = (open.clone(), failed.clone());
        tokio::spawn(async move {
            let mut request = match url.into_client_request() {
                Ok(request) => request,
                Err(_) => return,
            };
            request.headers_mut().insert("Authorization", bearer);
            let socket = tokio_tungstenite::connect_async(request).await;
            drop(permit);
            let Ok((socket, _)) = socket else {
                failed.fetch_add(1, Ordering::SeqCst);
                return;
            };
            open.fetch_add(1, Ordering::SeqCst);
            let (mut sink, mut stream) = socket.split();
            let hello = json!({"instruction": 1, "args": {
                "version": garrison_agent::garrison_version(), "buildHash": "", "uuid": format!("idle-{index}"),
                "golangVersion": "", "opensslEnabled": false, "opensslVersion": "", "hostname": "bench",
            }})
            .to_string();
            // Spread the hellos over the 10 s period, as independent outposts would.
            tokio::time::sleep(Duration::from_millis((index as u64 * 7919) % 10_000)).await;
            let mut tick = tokio::time::interval(Duration::from_secs(10));
            loop {
                tokio::select! {
                    _ = tick.tick() => if sink.send(Message::Text(hello.clone().into())).await.is_err() { break },
                    incoming = stream.next() => match incoming {
                        Some(Ok(_)) => {}
                        _ => break,
                    },
                }
            }
            open.fetch_sub(1, Ordering::SeqCst);
            failed.fetch_add(1, Ordering::SeqCst);
        });
    }
    while open.load(Ordering::SeqCst) + failed.load(Ordering::SeqCst) < connections {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    println!(
        "{} of {connections} connections open in {:.1} s ({} failed)",
        open.load(Ordering::SeqCst),
        started.elapsed().as_secs_f64(),
        failed.load(Ordering::SeqCst)
    );
    // Let the first round of hellos land, then measure a steady window.
    tokio::time::sleep(Duration::from_secs(10)).await;
    let (jiffies_before, _) = process_usage(server)?;
    let window = Instant::now();
    tokio::time::sleep(Duration::from_secs(seconds)).await;
    let (jiffies_after, rss) = process_usage(server)?;
    let ticks = clock_ticks();
    let cpu = (jiffies_after - jiffies_before) as f64 / ticks / window.elapsed().as_secs_f64();
    println!(
        "{} connections still open; server RSS {:.0} MiB (before connecting {:.0} MiB); \
         CPU {:.3} cores over {seconds} s of hellos",
        open.load(Ordering::SeqCst),
        rss as f64 / 1024.0,
        rss_before as f64 / 1024.0,
        cpu
    );
    Ok(())
}

/// The kernel's clock ticks per second as `getconf CLK_TCK` reports it (100 on Linux unless
/// configured otherwise).
fn clock_ticks() -> f64 {
    std::process::Command::new("getconf")
        .arg("CLK_TCK")
        .output()
        .ok()
        .and_then(|out| String::from_utf8(out.stdout).ok())
        .and_then(|text| text.trim().parse().ok())
        .unwrap_or(100.0)
}
