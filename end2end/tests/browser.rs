//! End to end in headless Chromium against the real `garrison` binary (the build users get):
//! log in as the bootstrap administrator, see the dashboard, create a group through the UI,
//! find it in the list and its creation on the events page; and deploy an outpost: create a
//! provider, an application and an outpost through the UI, start `garrison agent` with the
//! token the page shows, and see the instance connected with the current configuration; and
//! upload a blueprint file into a new instance, plan it, see the rows that create its two
//! groups, apply it, see it successful and its groups listed, while another instance, typed in
//! and planned before, fails when applied (the group it must create exists by then) and shows
//! the failing entry on its page.
//!
//! Needs chromedriver on GARRISON_WEBDRIVER_URL (default http://127.0.0.1:9515), on this
//! machine (it reads uploaded files from the test's paths), and the binary at GARRISON_E2E_BIN
//! (default target/release/garrison); scripts/test.sh provides both.
use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use fantoccini::{ClientBuilder, Locator};
use serde_json::json;

const PASSWORD: &str = "e2e-admin-password";

struct Server {
    child: Child,
    url: String,
    bin: PathBuf,
    _data: PathBuf,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self._data);
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

fn binary() -> Option<PathBuf> {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..");
    let path = std::env::var("GARRISON_E2E_BIN")
        .map(PathBuf::from)
        .unwrap_or_else(|_| root.join("target/release/garrison"));
    path.is_file().then_some(path)
}

async fn start_server(bin: PathBuf, name: &str) -> Server {
    let data = std::env::temp_dir().join(format!("garrison-e2e-{}-{name}", std::process::id()));
    let port = free_port();
    let child = Command::new(&bin)
        .arg("serve")
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("GARRISON_DATA_DIR", &data)
        .env("GARRISON_LISTEN", format!("127.0.0.1:{port}"))
        .env(
            "GARRISON_METRICS_LISTEN",
            format!("127.0.0.1:{}", free_port()),
        )
        .env("GARRISON_BOOTSTRAP_PASSWORD", PASSWORD)
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("garrison starts");
    let url = format!("http://127.0.0.1:{port}");
    let server = Server {
        child,
        url,
        bin,
        _data: data,
    };
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "garrison did not listen within 30 s"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    server
}

type Steps<'a> = std::pin::Pin<
    Box<dyn std::future::Future<Output = Result<(), fantoccini::error::CmdError>> + 'a>,
>;

/// Starts the server and a headless Chromium, runs `steps` with the browser and the server's
/// URL, and leaves a screenshot and the page's HTML in `target/e2e/` when a step fails.
async fn with_browser(
    name: &str,
    steps: impl for<'a> FnOnce(&'a fantoccini::Client, &'a Server, &'a std::path::Path) -> Steps<'a>,
) {
    let Some(bin) = binary() else {
        assert!(
            std::env::var("CI").is_err(),
            "CI must run the browser test: build target/release/garrison first"
        );
        eprintln!("SKIPPED: no garrison binary (scripts/test.sh builds it)");
        return;
    };
    let server = start_server(bin, name).await;
    let webdriver =
        std::env::var("GARRISON_WEBDRIVER_URL").unwrap_or_else(|_| "http://127.0.0.1:9515".into());
    let profile = std::env::temp_dir().join(format!(
        "garrison-e2e-chromium-{}-{name}",
        std::process::id()
    ));
    let mut caps = serde_json::Map::new();
    caps.insert(
        "goog:chromeOptions".into(),
        json!({
            "binary": std::env::var("GARRISON_CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".into()),
            "args": ["--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                     "--disable-background-networking", "--disable-component-update", "--no-first-run",
                     "--disable-sync", "--disable-quic", "--window-size=1280,900",
                     format!("--user-data-dir={}", profile.display())],
        }),
    );
    let connector = hyper_util::client::legacy::connect::HttpConnector::new();
    let client = ClientBuilder::new(connector)
        .capabilities(caps)
        .connect(&webdriver)
        .await
        .expect("chromedriver reachable");
    let shots = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target/e2e");
    let _ = std::fs::create_dir_all(&shots);
    let result = steps(&client, &server, &shots).await;
    if result.is_err() {
        // Leave evidence for whoever reads the failure.
        if let Ok(png) = client.screenshot().await {
            std::fs::write(shots.join(format!("{name}-failure.png")), png).ok();
        }
        if let Ok(html) = client.source().await {
            std::fs::write(shots.join(format!("{name}-failure.html")), html).ok();
        }
        if let Ok(url) = client.current_url().await {
            eprintln!(
                "browser test {name} failed at {url}; see target/e2e/{name}-failure.png and .html"
            );
        }
    }
    let _ = client.close().await;
    let _ = std::fs::remove_dir_all(&profile);
    result.expect("browser steps");
}

/// Logs in as the bootstrap administrator and waits for the hydrated dashboard.
async fn log_in(
    client: &fantoccini::Client,
    base: &str,
) -> Result<(), fantoccini::error::CmdError> {
    client.goto(&format!("{base}/")).await?;
    // Not logged in: sent to the login page.
    client
        .wait()
        .at_most(Duration::from_secs(20))
        .for_element(Locator::Css("input[name=username]"))
        .await?;
    assert!(client.current_url().await?.as_str().contains("/login"));
    client
        .find(Locator::Css("input[name=username]"))
        .await?
        .send_keys("akadmin")
        .await?;
    client
        .find(Locator::Css("input[name=password]"))
        .await?
        .send_keys(PASSWORD)
        .await?;
    client
        .find(Locator::Css("button[type=submit]"))
        .await?
        .click()
        .await?;
    client
        .wait()
        .at_most(Duration::from_secs(20))
        .for_element(Locator::Css("[data-testid=dashboard-counts]"))
        .await?;
    // The bundle loaded and hydrated the page without a panic.
    wait_hydrated(client).await
}

/// Waits until the bundle has hydrated the page.
async fn wait_hydrated(client: &fantoccini::Client) -> Result<(), fantoccini::error::CmdError> {
    client
        .wait()
        .at_most(Duration::from_secs(20))
        .for_element(Locator::Css("body[data-hydrated=true]"))
        .await?;
    Ok(())
}

/// Waits for the input `css` and types `text` into it.
async fn type_into(
    client: &fantoccini::Client,
    css: &str,
    text: &str,
) -> Result<(), fantoccini::error::CmdError> {
    client
        .wait()
        .at_most(Duration::from_secs(20))
        .for_element(Locator::Css(css))
        .await?
        .send_keys(text)
        .await
}

/// Waits for the element and clicks it (an option, a checkbox, a button).
async fn click(
    client: &fantoccini::Client,
    what: Locator<'_>,
) -> Result<(), fantoccini::error::CmdError> {
    client
        .wait()
        .at_most(Duration::from_secs(20))
        .for_element(what)
        .await?
        .click()
        .await
}

/// Waits until the current URL's path starts with `prefix` and is longer than it.
async fn wait_for_path(
    client: &fantoccini::Client,
    prefix: &str,
) -> Result<String, fantoccini::error::CmdError> {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let url = client.current_url().await?;
        if url.path().starts_with(prefix) && url.path().len() > prefix.len() {
            return Ok(url.path().to_owned());
        }
        if Instant::now() >= deadline {
            eprintln!("never reached {prefix}…: at {url}");
            return Err(fantoccini::error::CmdError::WaitTimeout);
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// Waits until the element `css` exists and its text satisfies `ok`; returns the text.
async fn wait_for_text(
    client: &fantoccini::Client,
    css: &str,
    within: Duration,
    ok: impl Fn(&str) -> bool,
) -> Result<String, fantoccini::error::CmdError> {
    wait_for(client, css, within, ok, Read::Text).await
}

/// What [`wait_for`] reads of an element.
#[derive(Clone, Copy)]
enum Read {
    /// Its visible text.
    Text,
    /// A form control's current value.
    Value,
}

/// Polls until the element `css` exists and what `read` gives of it satisfies `ok`; returns it.
async fn wait_for(
    client: &fantoccini::Client,
    css: &str,
    within: Duration,
    ok: impl Fn(&str) -> bool,
    read: Read,
) -> Result<String, fantoccini::error::CmdError> {
    let deadline = Instant::now() + within;
    loop {
        let seen = match client.find(Locator::Css(css)).await {
            Ok(element) => match read {
                Read::Text => element.text().await.unwrap_or_default(),
                Read::Value => element
                    .prop("value")
                    .await
                    .ok()
                    .flatten()
                    .unwrap_or_default(),
            },
            Err(_) => String::new(),
        };
        if ok(&seen) {
            return Ok(seen);
        }
        if Instant::now() >= deadline {
            eprintln!("{css} never showed what was expected: {seen:?}");
            return Err(fantoccini::error::CmdError::WaitTimeout);
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

#[tokio::test]
async fn admin_logs_in_creates_a_group_and_sees_it_audited() {
    with_browser("groups", |client, server, shots| {
        Box::pin(async move {
            let base = &server.url;
            log_in(client, base).await?;
            let who = client
                .find(Locator::Css("[data-testid=current-user]"))
                .await?
                .text()
                .await?;
            assert!(who.contains("akadmin"), "{who}");
            std::fs::write(shots.join("dashboard.png"), client.screenshot().await?).ok();

            client
                .find(Locator::LinkText("Groups"))
                .await?
                .click()
                .await?;
            client
                .wait()
                .at_most(Duration::from_secs(20))
                .for_element(Locator::LinkText("New group"))
                .await?
                .click()
                .await?;
            let name = client
                .wait()
                .at_most(Duration::from_secs(20))
                .for_element(Locator::Css("input[name=name]"))
                .await?;
            name.send_keys("e2e-team").await?;
            client
                .find(Locator::Css("button[type=submit].primary"))
                .await?
                .click()
                .await?;

            let deadline = Instant::now() + Duration::from_secs(20);
            loop {
                let listed = match client.find(Locator::Css("[data-testid=groups]")).await {
                    Ok(table) => table.text().await?.contains("e2e-team"),
                    Err(_) => false,
                };
                if listed {
                    break;
                }
                assert!(
                    Instant::now() < deadline,
                    "the new group did not appear in the list"
                );
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
            std::fs::write(shots.join("groups.png"), client.screenshot().await?).ok();

            client
                .find(Locator::LinkText("Events"))
                .await?
                .click()
                .await?;
            let events = client
                .wait()
                .at_most(Duration::from_secs(20))
                .for_element(Locator::Css("[data-testid=events]"))
                .await?;
            let text = events.text().await?;
            assert!(
                text.contains("e2e-team (authentik_core.group)") && text.contains("model_created"),
                "{text}"
            );
            std::fs::write(shots.join("events.png"), client.screenshot().await?).ok();

            // The plugins page, reached by client-side navigation: the built-ins are running and
            // a plugin's review screen opens from its name.
            client
                .find(Locator::LinkText("Plugins"))
                .await?
                .click()
                .await?;
            let plugins = client
                .wait()
                .at_most(Duration::from_secs(20))
                .for_element(Locator::Css("[data-testid=plugins]"))
                .await?;
            let text = plugins.text().await?;
            assert!(
                text.contains("provider-proxy") && text.contains("running"),
                "{text}"
            );
            std::fs::write(shots.join("plugins.png"), client.screenshot().await?).ok();
            client
                .find(Locator::LinkText("provider-ldap"))
                .await?
                .click()
                .await?;
            let review = client
                .wait()
                .at_most(Duration::from_secs(20))
                .for_element(Locator::Css("[data-testid=review]"))
                .await?;
            let text = review.text().await?;
            assert!(text.contains("It requests nothing"), "{text}");
            std::fs::write(shots.join("plugin.png"), client.screenshot().await?).ok();
            Ok(())
        })
    })
    .await;
}

/// `garrison agent`, configured as authentik's outpost images are: from the environment.
struct AgentProcess(Child);

impl Drop for AgentProcess {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[tokio::test]
async fn operator_deploys_an_outpost_and_sees_its_agent_connected() {
    with_browser("outpost", |client, server, shots| Box::pin(async move {
        let base = &server.url;
        log_in(client, base).await?;

        // A proxy provider.
        client.goto(&format!("{base}/providers")).await?;
        let form = "[data-testid=create-provider]";
        type_into(client, &format!("{form} input[name=name]"), "e2e-proxy").await?;
        click(client, Locator::Css(&format!("{form} select[name=kind] option[value=proxy]"))).await?;
        type_into(client, &format!("{form} input[name=external_host]"), "https://app.e2e.example").await?;
        type_into(client, &format!("{form} input[name=internal_host]"), "http://127.0.0.1:8080").await?;
        click(client, Locator::Css(&format!("{form} button[type=submit]"))).await?;
        wait_for_path(client, "/providers/").await?;

        // An application using it.
        client.goto(&format!("{base}/applications")).await?;
        let form = "[data-testid=create-application]";
        type_into(client, &format!("{form} input[name=name]"), "E2E application").await?;
        type_into(client, &format!("{form} input[name=slug]"), "e2e-application").await?;
        click(client, Locator::XPath(
            "//*[@data-testid='create-application']//select[@name='provider']/option[contains(., 'e2e-proxy')]",
        ))
        .await?;
        click(client, Locator::Css(&format!("{form} button[type=submit]"))).await?;
        wait_for_path(client, "/applications/").await?;

        // An outpost serving it.
        client.goto(&format!("{base}/outposts")).await?;
        let form = "[data-testid=create-outpost]";
        type_into(client, &format!("{form} input[name=name]"), "e2e-outpost").await?;
        click(client, Locator::Css(&format!("{form} select[name=outpost_type] option[value=proxy]"))).await?;
        click(client, Locator::XPath(
            "//*[@data-testid='create-outpost']//label[contains(., 'e2e-proxy')]//input[@type='checkbox']",
        ))
        .await?;
        click(client, Locator::Css(&format!("{form} button[type=submit]"))).await?;
        let page = wait_for_path(client, "/outposts/").await?;
        let hash = wait_for_text(client, "code.digest", Duration::from_secs(20), |text| {
            text.len() == 64 && text.chars().all(|c| c.is_ascii_hexdigit())
        })
        .await?;
        wait_for_text(client, "[data-testid=instances]", Duration::from_secs(20), |text| {
            text.contains("No instance has reported")
        })
        .await?;

        // Its token, shown on request, runs an agent.
        client
            .find(Locator::Css("[data-testid=deploy] button.primary"))
            .await?
            .click()
            .await?;
        let token = wait_for_text(client, "[data-testid=outpost-token]", Duration::from_secs(20), |text| {
            text.len() >= 32
        })
        .await?;
        std::fs::write(shots.join("outpost-token.png"), client.screenshot().await?).ok();
        let _agent = AgentProcess(
            Command::new(&server.bin)
                .arg("agent")
                .env_clear()
                .env("AUTHENTIK_HOST", base)
                .env("AUTHENTIK_TOKEN", token.trim())
                .stdout(Stdio::null())
                .stderr(Stdio::inherit())
                .spawn()
                .expect("the agent starts"),
        );
        // The page polls its instances: the agent shows up connected, holding this hash.
        client.goto(&format!("{base}{page}")).await?;
        let short = &hash[..12];
        let instances = wait_for_text(client, "[data-testid=instances]", Duration::from_secs(40), |text| {
            text.contains("connected") && !text.contains("disconnected") && text.contains("current") && text.contains(short)
        })
        .await?;
        assert!(instances.contains("2026."), "the agent's version is shown: {instances}");
        std::fs::write(shots.join("outpost.png"), client.screenshot().await?).ok();

        // The list shows it too.
        client.goto(&format!("{base}/outposts")).await?;
        wait_for_text(client, "[data-testid=outposts]", Duration::from_secs(20), |text| {
            text.contains("e2e-outpost") && text.contains("e2e-proxy")
        })
        .await?;
        std::fs::write(shots.join("outposts.png"), client.screenshot().await?).ok();
        Ok(())
    }))
    .await;
}

/// The blueprint the browser uploads from a file: two groups.
const UPLOADED_BLUEPRINT: &str = "version: 1
metadata:
  name: E2E upload
entries:
  - model: authentik_core.group
    identifiers:
      name: e2e-upload-a
  - model: authentik_core.group
    identifiers:
      name: e2e-upload-b
";

/// A blueprint typed into the editor that must create `e2e-upload-a`: valid while that group
/// does not exist (saving an instance dry-runs its blueprint, so a blueprint broken already
/// could not be saved), broken once the uploaded blueprint has created it.
const MUST_CREATE_BLUEPRINT: &str = "version: 1
entries:
  - model: authentik_core.group
    state: must_created
    identifiers:
      name: e2e-upload-a
";

/// A file for the browser to upload, removed when the test ends, however it ends.
struct TempFile(PathBuf);

impl Drop for TempFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

/// Loads `url` and waits until the page has hydrated.
async fn open(client: &fantoccini::Client, url: &str) -> Result<(), fantoccini::error::CmdError> {
    client.goto(url).await?;
    wait_hydrated(client).await
}

/// Waits until the form control `css` exists and its value satisfies `ok`; returns the value.
async fn wait_for_value(
    client: &fantoccini::Client,
    css: &str,
    within: Duration,
    ok: impl Fn(&str) -> bool,
) -> Result<String, fantoccini::error::CmdError> {
    wait_for(client, css, within, ok, Read::Value).await
}

#[tokio::test]
async fn operator_uploads_and_applies_a_blueprint_and_sees_a_broken_one_fail() {
    with_browser("blueprint", |client, server, shots| {
        Box::pin(async move {
            let base = &server.url;
            // chromedriver runs beside the test (the browser reaches the server on the
            // loopback), so it reads the file from this path.
            let upload = TempFile(std::env::temp_dir().join(format!(
                "garrison-e2e-{}-blueprint-upload.yaml",
                std::process::id()
            )));
            std::fs::write(&upload.0, UPLOADED_BLUEPRINT).expect("the blueprint file is written");
            let upload_path = upload.0.to_str().expect("a UTF-8 temporary path");
            log_in(client, base).await?;
            let form = "[data-testid=create-blueprint]";

            // An instance whose YAML is typed into the editor, planned while it is still valid:
            // its plan creates the group. This tab keeps that plan (and its Apply button) while
            // another uploads the blueprint that creates the group first.
            open(client, &format!("{base}/blueprints/new")).await?;
            type_into(client, &format!("{form} input[name=name]"), "e2e-broken").await?;
            type_into(
                client,
                &format!("{form} textarea[name=content]"),
                MUST_CREATE_BLUEPRINT,
            )
            .await?;
            click(client, Locator::Css(&format!("{form} button[type=submit]"))).await?;
            click(client, Locator::Css("[data-testid=plan-form] button")).await?;
            wait_for_text(
                client,
                "[data-testid=plan-rows]",
                Duration::from_secs(20),
                |text| text.contains("create") && text.contains("e2e-upload-a"),
            )
            .await?;
            let broken_tab = client.window().await?;

            // In a second tab, a new instance whose YAML is loaded from a file: sending a path
            // to a file input is how WebDriver uploads, and the page's inline script puts the
            // file's text in the editor.
            let upload_tab = client.new_window(true).await?.handle;
            client.switch_to_window(upload_tab).await?;
            open(client, &format!("{base}/blueprints/new")).await?;
            type_into(client, &format!("{form} input[type=file]"), upload_path).await?;
            let content = wait_for_value(
                client,
                &format!("{form} textarea[name=content]"),
                Duration::from_secs(20),
                |value| value.contains("e2e-upload-b"),
            )
            .await?;
            assert_eq!(
                content, UPLOADED_BLUEPRINT,
                "the editor holds the file's text"
            );
            type_into(client, &format!("{form} input[name=name]"), "e2e-upload").await?;
            std::fs::write(
                shots.join("blueprint-upload.png"),
                client.screenshot().await?,
            )
            .ok();
            click(client, Locator::Css(&format!("{form} button[type=submit]"))).await?;

            // Its page: plan, see one row creating each group, then apply.
            click(client, Locator::Css("[data-testid=plan-form] button")).await?;
            wait_for_text(
                client,
                "[data-testid=plan-rows]",
                Duration::from_secs(20),
                |text| text.contains("e2e-upload-a") && text.contains("e2e-upload-b"),
            )
            .await?;
            let mut rows = Vec::new();
            for row in client
                .find_all(Locator::Css("[data-testid=plan-rows] tbody tr"))
                .await?
            {
                rows.push(row.text().await?);
            }
            assert_eq!(rows.len(), 2, "{rows:?}");
            for (row, group) in rows.iter().zip(["e2e-upload-a", "e2e-upload-b"]) {
                assert!(
                    row.contains("create")
                        && row.contains("authentik_core.group")
                        && row.contains(group),
                    "{rows:?}"
                );
            }
            let summary = client
                .find(Locator::Css("[data-testid=plan-summary]"))
                .await?
                .text()
                .await?;
            assert!(summary.contains("2 to create"), "{summary}");
            std::fs::write(shots.join("blueprint-plan.png"), client.screenshot().await?).ok();
            click(client, Locator::Css("[data-testid=apply] button")).await?;
            wait_for_text(
                client,
                "[data-testid=status]",
                Duration::from_secs(20),
                |text| text.contains("successful"),
            )
            .await?;
            // The blueprint's own name, recorded by the run: the file's text is what applied.
            wait_for_text(
                client,
                "[data-testid=blueprint-facts]",
                Duration::from_secs(20),
                |text| text.contains("E2E upload"),
            )
            .await?;
            std::fs::write(shots.join("blueprint.png"), client.screenshot().await?).ok();

            // The objects it created.
            open(client, &format!("{base}/groups?search=e2e-upload")).await?;
            wait_for_text(
                client,
                "[data-testid=groups]",
                Duration::from_secs(20),
                |text| text.contains("e2e-upload-a") && text.contains("e2e-upload-b"),
            )
            .await?;
            std::fs::write(
                shots.join("blueprint-groups.png"),
                client.screenshot().await?,
            )
            .ok();
            client.close_window().await?;

            // Back to the first instance: applied as planned, it now fails on the group that
            // exists, and its page shows the failing entry, its model and why.
            client.switch_to_window(broken_tab).await?;
            click(client, Locator::Css("[data-testid=apply] button")).await?;
            wait_for_text(
                client,
                "[data-testid=status]",
                Duration::from_secs(20),
                |text| text.contains("error"),
            )
            .await?;
            let failure = wait_for_text(
                client,
                "[data-testid=last-run] [data-testid=failure]",
                Duration::from_secs(20),
                |text| text.contains("must_created"),
            )
            .await?;
            assert!(
                failure.contains("State is set to must_created and object exists already")
                    && failure.contains("authentik_core.group")
                    && failure.contains("e2e-upload-a"),
                "{failure}"
            );
            let last_run = client
                .find(Locator::Css("[data-testid=last-run]"))
                .await?
                .text()
                .await?;
            assert!(
                last_run.contains("Failed: nothing was written."),
                "{last_run}"
            );
            std::fs::write(
                shots.join("blueprint-error.png"),
                client.screenshot().await?,
            )
            .ok();

            // Planned again, it shows the same error, and no Apply button.
            click(client, Locator::Css("[data-testid=plan-form] button")).await?;
            let failure = wait_for_text(
                client,
                "[data-testid=plan] [data-testid=failure]",
                Duration::from_secs(20),
                |text| text.contains("must_created"),
            )
            .await?;
            assert!(
                failure.contains("authentik_core.group") && failure.contains("e2e-upload-a"),
                "{failure}"
            );
            assert!(
                client
                    .find(Locator::Css("[data-testid=apply]"))
                    .await
                    .is_err(),
                "a plan that fails offers no Apply"
            );
            std::fs::write(
                shots.join("blueprint-error-plan.png"),
                client.screenshot().await?,
            )
            .ok();
            drop(upload);
            Ok(())
        })
    })
    .await;
}
