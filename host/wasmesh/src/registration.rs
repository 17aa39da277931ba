//! Registration with the Meshery server: the newest server sends a design component to an
//! adapter's Provision only when the adapter registered that component's definition over HTTP
//! (CONTRACT.md, "Component registration over HTTP"). Each served plugin registers one definition
//! per kind it handles in designs, as the plugin itself lists them (its `registry` export).
//!
//! A round POSTs every definition (at once, each with its own retries); rounds run at start and
//! then at an interval, in a task of their own, so serving never waits for the server. The
//! connection JSON is the same in every round (a stable id, sorted keys), so the server keeps one
//! registrant per plugin.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use base64::Engine as _;
use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use hyper_rustls::HttpsConnector;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use tokio::sync::watch;
use wasmesh_runtime::DesignKind;
use wasmesh_runtime::types::Info;

use crate::errors::{Error, Result};

/// Where the server takes component definitions, below `meshery_server`.
pub const REGISTER_PATH: &str = "/api/meshmodel/components/register";
/// The host name advertised when neither `advertise_host` nor the environment names one.
pub const DEFAULT_ADVERTISE_HOST: &str = "localhost";
/// Design kinds one plugin may register (the built-in ones list about twenty).
pub const MAX_KINDS: usize = 500;
/// Registration POSTs in flight at once per plugin.
const CONCURRENT_POSTS: usize = 4;
/// Bytes read of a refusal's body.
const MAX_READ_BODY: usize = 4096;
/// Failed definitions named in a round's log line.
const MAX_LOGGED_FAILURES: usize = 5;
/// Rounds run this often by default (the upstream adapters' interval).
pub const DEFAULT_INTERVAL: Duration = Duration::from_secs(24 * 60 * 60);
/// One POST may take this long before it counts as failed.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);
/// Server answers kept in the log, at most.
const MAX_LOGGED_BODY: usize = 300;

/// Retries of one component within a round, as the upstream adapters do them: 0.5 s, x1.5,
/// ±50 % jitter, at most 60 s apart, given up after 10 minutes (until the next round).
#[derive(Clone, Debug, PartialEq)]
pub struct Backoff {
    pub initial: Duration,
    pub factor: f64,
    pub max: Duration,
    pub give_up_after: Duration,
}

impl Default for Backoff {
    fn default() -> Self {
        Self {
            initial: Duration::from_millis(500),
            factor: 1.5,
            max: Duration::from_secs(60),
            give_up_after: Duration::from_secs(600),
        }
    }
}

impl Backoff {
    /// The wait before try `n + 1` (n >= 1 tries made), jittered by `random` in [0, 1).
    fn delay(&self, n: u32, random: f64) -> Duration {
        let base = self.initial.as_secs_f64() * self.factor.powi(n.saturating_sub(1) as i32);
        let jittered = base * (0.5 + random);
        Duration::from_secs_f64(jittered.min(self.max.as_secs_f64()))
    }
}

/// What registration needs from the configuration, checked at start.
#[derive(Clone, Debug)]
pub struct Settings {
    /// `{meshery_server}/api/meshmodel/components/register`.
    pub url: hyper::Uri,
    /// The host name the server dials the adapters on.
    pub advertise_host: String,
    /// Time between the start of one round and the next.
    pub interval: Duration,
    pub backoff: Backoff,
}

/// The register URL for `meshery_server`: an `http://` or `https://` URL, perhaps with a path
/// prefix, without query or fragment.
pub fn register_url(server: &str) -> Result<hyper::Uri> {
    let bad = |why: &str| {
        Error::Config(format!(
            "meshery_server \"{}\" {why}; write the Meshery server's address as http://host:port or \
             https://host:port (e.g. http://meshery:9081)",
            server.escape_debug()
        ))
    };
    let uri: hyper::Uri = server.trim().parse().map_err(|_| bad("is not a URL"))?;
    match uri.scheme_str() {
        Some("http" | "https") => {}
        Some(_) => return Err(bad("is neither http:// nor https://")),
        None => return Err(bad("has no scheme")),
    }
    let Some(authority) = uri.authority() else {
        return Err(bad("names no host"));
    };
    if authority.host().is_empty() {
        return Err(bad("names no host"));
    }
    if authority.as_str().contains('@') {
        return Err(bad("carries credentials (user@host)"));
    }
    if uri.query().is_some() || server.contains('#') {
        return Err(bad("has a query or fragment"));
    }
    let prefix = uri.path().trim_end_matches('/');
    let url = format!(
        "{}://{authority}{prefix}{REGISTER_PATH}",
        uri.scheme_str().unwrap_or("http")
    );
    url.parse().map_err(|_| bad("is not a URL"))
}

/// One plugin's registration counters, for the log and for metrics. Reached as
/// [`crate::adapter::Adapter::registration`].
#[derive(Debug, Default)]
pub struct RegistrationStats {
    /// POSTs sent, every retry counted.
    pub attempts: AtomicU64,
    /// Definitions the server accepted (200, 201 or 202).
    pub successes: AtomicU64,
    /// POSTs that failed: another status, no answer, or a timeout.
    pub failures: AtomicU64,
    /// Definitions given up on in a round, after their retries ran out.
    pub given_up: AtomicU64,
    /// Rounds completed.
    pub rounds: AtomicU64,
    /// Definitions of the last completed round, and how many of them the server accepted.
    pub last_round_definitions: AtomicU64,
    pub last_round_registered: AtomicU64,
}

/// A copy of [`RegistrationStats`] at one moment.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct StatsSnapshot {
    pub attempts: u64,
    pub successes: u64,
    pub failures: u64,
    pub given_up: u64,
    pub rounds: u64,
    pub last_round_definitions: u64,
    pub last_round_registered: u64,
}

impl RegistrationStats {
    pub fn snapshot(&self) -> StatsSnapshot {
        let get = |a: &AtomicU64| a.load(Ordering::Relaxed);
        StatsSnapshot {
            attempts: get(&self.attempts),
            successes: get(&self.successes),
            failures: get(&self.failures),
            given_up: get(&self.given_up),
            rounds: get(&self.rounds),
            last_round_definitions: get(&self.last_round_definitions),
            last_round_registered: get(&self.last_round_registered),
        }
    }
}

/// The connection a plugin registers under: the server dials `metadata.host_name` (some
/// versions read `hostname`) and `metadata.port` for Provision. Its id is a name-based UUID of
/// the plugin and the advertised host, so every round sends the same JSON.
pub fn connection(plugin: &str, info: &Info, host: &str, port: u16) -> Value {
    json!({
        "id": stable_id(&format!("wasmesh/{plugin}@{host}")).to_string(),
        "name": format!("wasmesh-{plugin}"),
        "type": "platform",
        "subType": "adapter",
        "kind": format!("meshery-{}", info.mesh),
        "status": "registered",
        "schemaVersion": "connections.meshery.io/v1beta3",
        "metadata": {"host_name": host, "hostname": host, "port": port},
    })
}

/// A name-based UUID (version 8, from SHA-256 as RFC 9562 shows): the same name, the same id.
fn stable_id(name: &str) -> uuid::Uuid {
    let digest = Sha256::digest(format!("wasmesh-connection:{name}").as_bytes());
    let mut bytes = [0u8; 16];
    bytes.copy_from_slice(&digest[..16]);
    uuid::Builder::from_custom_bytes(bytes).into_uuid()
}

/// Whether an apiVersion is in one of Kubernetes' own API groups (the core group, `*.k8s.io`
/// and the unsuffixed built-in groups).
pub fn kubernetes_group(api_version: &str) -> bool {
    let group = api_version.rsplit_once('/').map_or("", |(g, _)| g);
    group.is_empty()
        || group.ends_with(".k8s.io")
        || matches!(group, "apps" | "batch" | "policy" | "autoscaling" | "extensions")
}

/// Whether `s` is a plain slug, as the server wants kinds and model names.
fn slug(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|b| b.is_ascii_alphanumeric() || b"._-".contains(&b))
}

/// The Meshery component definition of one kind a plugin handles, or why it cannot be one.
pub fn definition(info: &Info, kind: &DesignKind) -> std::result::Result<Value, String> {
    if !slug(&kind.kind) {
        return Err(format!(
            "kind \"{}\" is not a plain name ([A-Za-z0-9._-])",
            kind.kind.escape_debug()
        ));
    }
    if !slug(&info.mesh) {
        return Err(format!(
            "the mesh name \"{}\" is not a plain name ([A-Za-z0-9._-])",
            info.mesh.escape_debug()
        ));
    }
    // Meshery matches a design component by its apiVersion: it must be one, spelled as
    // Kubernetes spells it (a group in other letters or with a path in it is none).
    let (group, version) = kind.api_version.split_once('/').unwrap_or(("", &kind.api_version));
    let version_ok = wasmesh_cluster::is_dns_label(version) && version.starts_with(|c: char| c.is_ascii_lowercase());
    if !version_ok || !(group.is_empty() || wasmesh_cluster::is_dns_subdomain(group)) {
        return Err(format!(
            "kind {} has no usable apiVersion (\"{}\" is not group/version in lower case, like networking.istio.io/v1)",
            kind.kind,
            kind.api_version.escape_debug()
        ));
    }
    match serde_json::from_str::<Value>(&kind.schema) {
        Ok(Value::Object(m)) if !m.is_empty() => {}
        Ok(_) => return Err(format!("the schema of {} is not a non-empty JSON object", kind.kind)),
        Err(e) => return Err(format!("the schema of {} is not JSON: {e}", kind.kind)),
    }
    let mut model_name = info.mesh.clone();
    if let Some(first) = model_name.get_mut(..1) {
        first.make_ascii_uppercase();
    }
    Ok(json!({
        "schemaVersion": "components.meshery.io/v1beta1",
        "version": "v1.0.0",
        "displayName": if kind.display_name.trim().is_empty() { &kind.kind } else { &kind.display_name },
        "format": "JSON",
        "status": "enabled",
        "metadata": {"isAnnotation": false, "isNamespaced": kind.namespaced, "published": true, "genealogy": ""},
        "component": {"kind": kind.kind, "version": kind.api_version, "schema": kind.schema},
        "model": {
            "schemaVersion": "models.meshery.io/v1beta1",
            "version": "v1.0.0",
            "name": info.mesh,
            "displayName": model_name,
            "status": "enabled",
            "category": {"name": "Cloud Native Network"},
            "model": {"version": info.mesh_versions.first().cloned().unwrap_or_default()},
        },
    }))
}

/// The definitions of a plugin's kinds; a kind that cannot be one is left out and said why. A
/// kind listed twice is registered once, and at most MAX_KINDS are: the plugin decides how many
/// POSTs the host sends to the Meshery server.
pub fn definitions(info: &Info, kinds: &[DesignKind]) -> (Vec<Value>, Vec<String>) {
    let mut good = Vec::new();
    let mut bad = Vec::new();
    let mut seen = std::collections::HashSet::new();
    if kinds.len() > MAX_KINDS {
        bad.push(format!(
            "the plugin lists {} design kinds, over the limit of {MAX_KINDS}: only the first {MAX_KINDS} are registered",
            kinds.len()
        ));
    }
    for k in kinds.iter().take(MAX_KINDS) {
        if !seen.insert((k.kind.clone(), k.api_version.clone())) {
            continue;
        }
        match definition(info, k) {
            Ok(d) => good.push(d),
            Err(e) => bad.push(e),
        }
    }
    (good, bad)
}

/// The body of one registration: the definition as standard padded base64 of its JSON.
pub fn body(connection: &Value, definition: &Value) -> Value {
    json!({
        "connection": connection,
        "entityType": "component",
        "entity": base64::engine::general_purpose::STANDARD.encode(definition.to_string()),
    })
}

pub type HttpClient = Client<HttpsConnector<HttpConnector>, Full<Bytes>>;

/// The client every plugin's registration shares: http and https (the system's CA roots).
pub fn client(url: &hyper::Uri) -> Result<HttpClient> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let builder = match hyper_rustls::HttpsConnectorBuilder::new().with_provider_and_native_roots(provider.clone()) {
        Ok(b) => b,
        Err(e) if url.scheme_str() == Some("https") => {
            return Err(Error::Config(format!(
                "meshery_server is https, but no CA certificates could be read from the system ({e}); \
                 install the CA certificates (e.g. the ca-certificates package) or set SSL_CERT_FILE"
            )));
        }
        // Plain http needs no roots.
        Err(_) => hyper_rustls::HttpsConnectorBuilder::new().with_tls_config(
            rustls::ClientConfig::builder_with_provider(provider)
                .with_safe_default_protocol_versions()
                .map_err(|e| Error::Config(format!("TLS: {e}")))?
                .with_root_certificates(rustls::RootCertStore::empty())
                .with_no_client_auth(),
        ),
    };
    let connector = builder.https_or_http().enable_http1().build();
    Ok(Client::builder(TokioExecutor::new()).build(connector))
}

/// One plugin's registration task: what it sends, where, and its counters.
pub struct Registrant {
    pub plugin: String,
    pub connection: Value,
    pub definitions: Vec<Value>,
    pub stats: Arc<RegistrationStats>,
    pub metrics: crate::metrics::PluginMetrics,
}

/// The outcome of one definition in one round.
enum Outcome {
    Registered,
    GaveUp(String),
}

impl Registrant {
    /// Rounds until `stop` turns true: one now, then one every `settings.interval`.
    pub async fn run(self, settings: Arc<Settings>, client: HttpClient, mut stop: watch::Receiver<bool>) {
        let run = async {
            loop {
                let started = Instant::now();
                self.round(&settings, &client).await;
                tokio::time::sleep(settings.interval.saturating_sub(started.elapsed())).await;
            }
        };
        tokio::select! {
            _ = run => {}
            _ = stop.wait_for(|s| *s) => {}
        }
    }

    async fn round(&self, settings: &Settings, client: &HttpClient) {
        // A few at a time: the Meshery server and the host's file descriptors are shared.
        let permits = tokio::sync::Semaphore::new(CONCURRENT_POSTS);
        let tries = self.definitions.iter().map(|d| async {
            let _permit = permits.acquire().await.expect("never closed");
            self.register(settings, client, d).await
        });
        let outcomes = futures::future::join_all(tries).await;
        let registered = outcomes.iter().filter(|o| matches!(o, Outcome::Registered)).count();
        let failed: Vec<&str> = outcomes
            .iter()
            .filter_map(|o| match o {
                Outcome::GaveUp(why) => Some(why.as_str()),
                Outcome::Registered => None,
            })
            .collect();
        let total = self.definitions.len();
        let s = &self.stats;
        s.last_round_definitions.store(total as u64, Ordering::Relaxed);
        s.last_round_registered.store(registered as u64, Ordering::Relaxed);
        s.rounds.fetch_add(1, Ordering::Relaxed);
        let url = &settings.url;
        if failed.is_empty() {
            tracing::info!(plugin = %self.plugin, "registered {registered} of {total} component definitions with the Meshery server ({url})");
        } else {
            tracing::warn!(
                plugin = %self.plugin,
                "registered {registered} of {total} component definitions with the Meshery server ({url}); \
                 failed, retried next round: {}",
                failed.iter().take(MAX_LOGGED_FAILURES).copied().collect::<Vec<_>>().join("; ")
                    + &if failed.len() > MAX_LOGGED_FAILURES {
                        format!("; and {} more", failed.len() - MAX_LOGGED_FAILURES)
                    } else {
                        String::new()
                    }
            );
        }
    }

    /// One definition, retried with backoff until it is accepted or its time runs out.
    async fn register(&self, settings: &Settings, client: &HttpClient, definition: &Value) -> Outcome {
        let kind = definition
            .pointer("/component/kind")
            .and_then(Value::as_str)
            .unwrap_or("?");
        let body = Bytes::from(body(&self.connection, definition).to_string());
        let started = Instant::now();
        let mut tries = 0u32;
        loop {
            tries += 1;
            self.stats.attempts.fetch_add(1, Ordering::Relaxed);
            let why = match post(client, &settings.url, body.clone()).await {
                Ok(()) => {
                    self.stats.successes.fetch_add(1, Ordering::Relaxed);
                    self.metrics.registration("registered");
                    return Outcome::Registered;
                }
                Err(why) => why,
            };
            self.stats.failures.fetch_add(1, Ordering::Relaxed);
            self.metrics.registration("failed");
            let wait = settings.backoff.delay(tries, random());
            tracing::debug!(plugin = %self.plugin, kind, "registration try {tries} failed: {why}; next in {wait:?}");
            if started.elapsed() + wait > settings.backoff.give_up_after {
                self.stats.given_up.fetch_add(1, Ordering::Relaxed);
                self.metrics.registration("given_up");
                return Outcome::GaveUp(format!("{kind} after {tries} tries: {why}"));
            }
            tokio::time::sleep(wait).await;
        }
    }
}

/// The definitions a plugin registers: its kinds (from its `registry` export) as Meshery
/// component definitions; what cannot be one is said in the second list.
pub async fn plugin_definitions(
    name: &str,
    plugin: &wasmesh_runtime::Plugin<crate::host_calls::CallHost>,
) -> Result<(Vec<Value>, Vec<String>)> {
    let (kinds, _) = plugin.design_kinds(crate::host_calls::CallHost::describe(name)).await;
    Ok(definitions(plugin.info(), &kinds?))
}

/// Registers one served plugin until `stop`: its definitions, under a connection naming the
/// advertised host and the port it is served on. Runs in a task of its own.
pub async fn serve(
    adapter: Arc<crate::adapter::Adapter>,
    port: u16,
    builtin: bool,
    settings: Arc<Settings>,
    client: HttpClient,
    stop: watch::Receiver<bool>,
) {
    let plugin = adapter.name.clone();
    let (mut definitions, mut problems) = match plugin_definitions(&plugin, &adapter.plugin).await {
        Ok(d) => d,
        Err(e) => {
            tracing::error!(
                plugin,
                "registers nothing with the Meshery server: its design kinds could not be read: {e}"
            );
            return;
        }
    };
    if !builtin {
        // Meshery would send every design component of a registered kind here: a plugin the
        // operator loaded from a file does not get Kubernetes' own kinds.
        definitions.retain(|d| {
            let version = d.pointer("/component/version").and_then(Value::as_str).unwrap_or("");
            let own = !kubernetes_group(version);
            if !own {
                let kind = d.pointer("/component/kind").and_then(Value::as_str).unwrap_or("?");
                problems.push(format!(
                    "kind {kind} ({version}) is one of Kubernetes' own; only built-in plugins register those"
                ));
            }
            own
        });
    }
    for p in &problems {
        tracing::error!(plugin, "not registered with the Meshery server: {p}");
    }
    if definitions.is_empty() {
        tracing::info!(
            plugin,
            "registers nothing with the Meshery server: it lists no design kinds"
        );
        return;
    }
    let connection = connection(&plugin, adapter.plugin.info(), &settings.advertise_host, port);
    tracing::info!(
        plugin,
        "registering {} component definitions with the Meshery server ({}) as {}:{port}, every {} s",
        definitions.len(),
        settings.url,
        settings.advertise_host,
        settings.interval.as_secs()
    );
    let registrant = Registrant {
        plugin,
        connection,
        definitions,
        stats: adapter.registration.clone(),
        metrics: adapter.metrics.clone(),
    };
    registrant.run(settings, client, stop).await;
}

/// A number in [0, 1) for jitter.
fn random() -> f64 {
    (uuid::Uuid::new_v4().as_u128() >> 75) as f64 / (1u64 << 53) as f64
}

/// One POST; Ok when the server accepted it (200, 201, 202), else what it said.
async fn post(client: &HttpClient, url: &hyper::Uri, body: Bytes) -> std::result::Result<(), String> {
    let request = hyper::Request::post(url.clone())
        .header(hyper::header::CONTENT_TYPE, "application/json")
        // Older servers redirect a registration without a provider.
        .header("meshery-provider", "None")
        .body(Full::new(body))
        .map_err(|e| format!("cannot build the request: {e}"))?;
    let answer = async {
        let response = client.request(request).await.map_err(|e| {
            let mut text = e.to_string();
            let mut source = std::error::Error::source(&e);
            while let Some(s) = source {
                text = format!("{text}: {s}");
                source = s.source();
            }
            format!("no answer: {text}")
        })?;
        let status = response.status();
        if matches!(status.as_u16(), 200..=202) {
            // The body is not read: the server's answer to a success carries nothing.
            return Ok(());
        }
        // Only as much of a refusal as the log shows: a hostile or broken server cannot make
        // the host hold more.
        let bytes = http_body_util::Limited::new(response.into_body(), MAX_READ_BODY)
            .collect()
            .await
            .map(|b| b.to_bytes())
            .unwrap_or_default();
        let text = String::from_utf8_lossy(&bytes);
        let text: String = text.trim().chars().take(MAX_LOGGED_BODY).collect();
        Err(format!(
            "HTTP {status}: {}",
            if text.is_empty() { "(empty body)" } else { &text }
        ))
    };
    match tokio::time::timeout(REQUEST_TIMEOUT, answer).await {
        Ok(r) => r,
        Err(_) => Err(format!("no answer within {} s", REQUEST_TIMEOUT.as_secs())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn register_urls_are_http_or_https_with_a_host() {
        for (given, want) in [
            (
                "http://meshery:9081",
                "http://meshery:9081/api/meshmodel/components/register",
            ),
            (
                "https://meshery.example.com/",
                "https://meshery.example.com/api/meshmodel/components/register",
            ),
            (
                "http://10.0.0.1:9081/meshery",
                "http://10.0.0.1:9081/meshery/api/meshmodel/components/register",
            ),
        ] {
            assert_eq!(register_url(given).unwrap().to_string(), want);
        }
        for (given, says) in [
            ("meshery:9081", "has no scheme"),
            ("ftp://meshery", "neither http:// nor https://"),
            ("http://user:pw@meshery", "credentials"),
            ("http://meshery/?a=b", "query"),
            ("http://", "not a URL"),
            ("not a url", "not a URL"),
        ] {
            let e = register_url(given).unwrap_err().to_string();
            assert!(e.contains(says) && e.contains("http://host:port"), "{given}: {e}");
        }
    }

    #[test]
    fn backoff_grows_by_half_jitters_and_stops_at_the_cap() {
        let b = Backoff::default();
        assert_eq!(b.delay(1, 0.5), Duration::from_millis(500));
        assert_eq!(b.delay(2, 0.5), Duration::from_millis(750));
        assert_eq!(b.delay(1, 0.0), Duration::from_millis(250));
        assert!(b.delay(1, 0.999) < Duration::from_millis(750));
        assert_eq!(b.delay(30, 0.99), Duration::from_secs(60));
        for _ in 0..100 {
            let r = random();
            assert!((0.0..1.0).contains(&r));
        }
    }

    #[test]
    fn connection_ids_are_stable_per_plugin_and_host() {
        assert_eq!(stable_id("a@h"), stable_id("a@h"));
        assert_ne!(stable_id("a@h"), stable_id("b@h"));
        assert_eq!(stable_id("a@h").get_version_num(), 8);
    }

    #[test]
    fn kubernetes_own_groups_are_told_apart_from_a_mesh_s() {
        for own in [
            "v1",
            "apps/v1",
            "batch/v1",
            "rbac.authorization.k8s.io/v1",
            "networking.k8s.io/v1",
            "policy/v1",
        ] {
            assert!(kubernetes_group(own), "{own}");
        }
        for mesh in [
            "networking.istio.io/v1",
            "policy.linkerd.io/v1beta1",
            "core.oam.dev/v1alpha1",
            "kuma.io/v1alpha1",
        ] {
            assert!(!kubernetes_group(mesh), "{mesh}");
        }
    }
}
