//! wasmesh: one adapter host for Meshery. Each plugin (a WebAssembly translator) is served on
//! its own listener with Meshery's gRPC interface; see the workspace README for the layout.

pub mod adapter;
pub mod builtin;
pub mod codes;
pub mod config;
mod convert;
pub mod deploy;
pub mod drift;
pub mod dry_run;
pub mod errors;
pub mod events;
pub mod grpc;
pub mod health;
pub mod host_calls;
pub mod inspect;
pub mod metrics;
pub mod new;
pub mod settings;
pub mod shutdown;

/// The grant: declaration, check, audit, RBAC.
pub use wasmesh_grant as grant;
pub mod logging;
pub mod registration;
pub mod transport;

use std::net::SocketAddr;
use std::sync::Arc;

use tokio::net::TcpListener;
use tokio::sync::watch;
use tonic::service::interceptor::InterceptedService;
use wasmesh_cluster::ClusterPool;
use wasmesh_proto::meshes::adapter_service_server::AdapterServiceServer;
use wasmesh_proto::meshes::mesh_service_server::MeshServiceServer;
use wasmesh_runtime::{Plugin, Runtime, RuntimeConfig};

pub use config::Config;
pub use errors::{Error, Result};

use sha2::{Digest, Sha256};
use wasmesh_cluster::Impersonation;

use crate::adapter::{Adapter, AdapterSettings};
use crate::host_calls::CallHost;
use wasmesh_grant::{AuditLog, Grant};

/// Largest gRPC message accepted: a custom body at its limit plus several kubeconfigs fit.
const MAX_MESSAGE_BYTES: usize = 64 << 20;

/// How long a shutdown waits for clients to close their connections once every operation and
/// event stream has ended.
const LISTENER_CLOSE: std::time::Duration = std::time::Duration::from_secs(5);

/// A listener serving one plugin.
#[derive(Clone, Debug)]
pub struct Listener {
    /// The plugin's name in the config.
    pub plugin: String,
    /// What the adapter calls itself (MeshName), e.g. "LINKERD".
    pub adapter_name: String,
    pub addr: SocketAddr,
}

/// A plugin that could not be loaded; the host serves the others.
#[derive(Clone, Debug)]
pub struct Skipped {
    pub plugin: String,
    pub reason: String,
}

pub struct RunningHost {
    pub listeners: Vec<Listener>,
    pub skipped: Vec<Skipped>,
    pub adapters: Vec<Arc<Adapter>>,
    /// Where /metrics is served, when `metrics_addr` is set.
    pub metrics_addr: Option<SocketAddr>,
    pub metrics: Arc<metrics::Metrics>,
    /// Operations running on any listener.
    pub running: Arc<shutdown::InFlight>,
    /// How long a shutdown waits for operations in flight.
    pub grace: std::time::Duration,
    health: Vec<health::Health>,
    shutdown: watch::Sender<bool>,
    tasks: Vec<tokio::task::JoinHandle<()>>,
    _runtime: Arc<Runtime<CallHost>>,
}

impl RunningHost {
    pub fn listener(&self, adapter_name: &str) -> Option<&Listener> {
        self.listeners
            .iter()
            .find(|l| l.adapter_name.eq_ignore_ascii_case(adapter_name) || l.plugin == adapter_name)
    }

    /// Stops at once: what [`RunningHost::stop`] does with no grace period.
    pub async fn shutdown(self) {
        self.stop(std::time::Duration::ZERO).await;
    }

    /// Graceful stop: health says NOT_SERVING, the listeners stop accepting (open connections
    /// get no new calls), operations in flight get `grace` to finish and the rest are stopped
    /// with an ERROR event each; then the event streams end and the listeners close.
    pub async fn stop(self, grace: std::time::Duration) {
        for h in &self.health {
            h.not_serving().await;
        }
        let _ = self.shutdown.send(true);
        let in_flight = self.running.len();
        if in_flight > 0 {
            tracing::info!(
                "waiting up to {} s for {in_flight} operation(s) in flight",
                grace.as_secs()
            );
        }
        let cut = self.running.drain(grace).await;
        if cut > 0 {
            tracing::warn!("{cut} operation(s) cut off at shutdown; their subscribers got an ERROR event");
        }
        for a in &self.adapters {
            if let Some(d) = &a.drift {
                d.stop();
            }
            a.events.close();
        }
        // A listener closes once its connections have; a client holding a stream the host does
        // not end (a health Watch) must not hold the process.
        let aborts: Vec<_> = self.tasks.iter().map(|t| t.abort_handle()).collect();
        let closed = futures::future::join_all(self.tasks);
        if tokio::time::timeout(LISTENER_CLOSE, closed).await.is_err() {
            tracing::warn!(
                "connections still open {} s after shutdown; closing them",
                LISTENER_CLOSE.as_secs()
            );
            aborts.iter().for_each(|a| a.abort());
        }
    }

    /// Serves until the process is told to stop (SIGTERM or SIGINT), then stops gracefully.
    pub async fn serve_until_signal(self) {
        shutdown::signal().await;
        tracing::info!("shutting down (grace period {} s)", self.grace.as_secs());
        let grace = self.grace;
        self.stop(grace).await;
        tracing::info!("stopped");
    }
}

pub(crate) fn runtime_config(config: &Config) -> RuntimeConfig {
    RuntimeConfig {
        memory_limit: config.limits.memory_mib << 20,
        call_timeout: config.limits.call_timeout(),
        cache_dir: config.cache_dir.clone(),
        max_result_bytes: config.limits.max_result_bytes(),
        ..RuntimeConfig::default()
    }
}

/// How the configuration serves one loaded plugin.
pub(crate) fn adapter_settings(
    config: &Config,
    pc: &config::PluginConfig,
    grant: Grant,
    metrics: &Arc<metrics::Metrics>,
    running: Arc<shutdown::InFlight>,
) -> AdapterSettings {
    AdapterSettings {
        name: pc.name.clone(),
        grant,
        limits: config.limits.clone(),
        identity: pc.identity.as_ref().map(|i| Impersonation {
            user: i.user(),
            groups: Vec::new(),
        }),
        metrics: metrics.plugin(&pc.name),
        running,
        drift: pc.drift,
    }
}

/// The plugin's grant: what it declares, per operation, narrowed by what the configuration grants.
pub fn grant_for(pc: &config::PluginConfig, plugin: &Plugin<CallHost>) -> Result<Grant> {
    let info = plugin.info();
    let known = |key: &str| key == DESIGN_OPERATION || info.operations.iter().any(|o| o.key == key);
    // The runtime refused, at load, a manifest naming operations the plugin does not offer.
    let manifest = plugin.manifest();
    let grant = Grant::new(info.capabilities.kube.clone(), &manifest.rule_operations)
        .with_namespace_keys(manifest.namespace_keys.clone());
    let Some(g) = &pc.grant else {
        return Ok(grant);
    };
    let granted = match &g.kube {
        Some(rules) => Some(rules.iter().map(|r| r.to_rule()).collect::<Result<Vec<_>>>()?),
        None => None,
    };
    let grant = grant.granting(granted);
    let Some(ops) = &g.operations else {
        return Ok(grant);
    };
    if let Some(unknown) = ops.iter().find(|k| !known(k)) {
        let mut keys: Vec<&str> = info.operations.iter().map(|o| o.key.as_str()).collect();
        keys.push(DESIGN_OPERATION);
        return Err(Error::Config(format!(
            "plugin \"{}\": grant.operations names \"{unknown}\", which the plugin does not offer; it offers: {}",
            pc.name,
            keys.join(", ")
        )));
    }
    Ok(grant.for_operations(ops.clone()))
}

/// The operation key that stands for designs (Provision and ProcessOAM) in grants and manifests.
pub use wasmesh_runtime::DESIGN_OPERATION;

/// A loaded plugin with its configuration and grant.
pub type Loaded = (config::PluginConfig, Plugin<CallHost>, Grant);

pub async fn load_plugins(config: &Config) -> Result<(Arc<Runtime<CallHost>>, Vec<Loaded>, Vec<Skipped>)> {
    config.validate()?;
    let runtime = Arc::new(Runtime::new(runtime_config(config))?);
    let mut loaded = Vec::new();
    let mut skipped = Vec::new();
    for pc in &config.plugins {
        let wasm = match builtin::component_bytes(pc) {
            Ok(w) => w,
            Err(e) => {
                tracing::error!(plugin = %pc.name, "not loaded: {e}");
                skipped.push(Skipped {
                    plugin: pc.name.clone(),
                    reason: e.to_string(),
                });
                continue;
            }
        };
        if let Some(want) = &pc.sha256 {
            let got = hex::encode(Sha256::digest(&wasm));
            if !got.eq_ignore_ascii_case(want) {
                let reason = format!(
                    "its sha256 is {got}, not the {want} pinned in the configuration; refusing to run a plugin file that changed"
                );
                tracing::error!(plugin = %pc.name, "not loaded: {reason}");
                skipped.push(Skipped {
                    plugin: pc.name.clone(),
                    reason,
                });
                continue;
            }
        }
        let describe_host = CallHost::describe(&pc.name);
        match runtime
            .load_with_assets(&pc.name, &wasm, describe_host, pc.assets.as_deref())
            .await
        {
            Ok(p) => {
                let grant = grant_for(pc, &p)?;
                let missing = grant.ungranted();
                if config.strict && !missing.is_empty() {
                    let reason = format!(
                        "strict mode: the configuration does not grant all it declares; not granted: {}",
                        missing.iter().map(grant::describe_rule).collect::<Vec<_>>().join("; ")
                    );
                    tracing::error!(plugin = %pc.name, "not loaded: {reason}");
                    skipped.push(Skipped {
                        plugin: pc.name.clone(),
                        reason,
                    });
                    continue;
                }
                let admin = wasmesh_grant::equivalence::of_grant(&grant);
                let acknowledged = pc.grant.as_ref().is_some_and(|g| g.cluster_admin);
                if config.strict && !admin.is_empty() && !acknowledged {
                    let more = match admin.len() {
                        1 => String::new(),
                        n => format!(", and {} more (`wasmesh plugins` lists them)", n - 1),
                    };
                    let reason = format!(
                        "strict mode: its grant is cluster-admin equivalent ({}{more}); narrow grant.kube or \
                         grant.operations, or write grant.clusterAdmin: true to accept that",
                        admin[0]
                    );
                    tracing::error!(plugin = %pc.name, "not loaded: {reason}");
                    skipped.push(Skipped {
                        plugin: pc.name.clone(),
                        reason,
                    });
                    continue;
                }
                loaded.push((pc.clone(), p, grant))
            }
            // The operator's own configuration is wrong: nothing starts until it is fixed.
            Err(e @ wasmesh_runtime::Error::Assets { .. }) => return Err(e.into()),
            Err(e) => {
                tracing::error!(plugin = %pc.name, "not loaded: {e}");
                skipped.push(Skipped {
                    plugin: pc.name.clone(),
                    reason: e.to_string(),
                });
            }
        }
    }
    Ok((runtime, loaded, skipped))
}

/// Loads the plugins and starts one listener per plugin.
pub async fn start(config: Config) -> Result<RunningHost> {
    let (runtime, loaded, skipped) = load_plugins(&config).await?;
    if loaded.is_empty() {
        let reasons = skipped
            .iter()
            .map(|s| format!("{}: {}", s.plugin, s.reason))
            .collect::<Vec<_>>()
            .join("; ");
        return Err(Error::NothingToServe { reasons });
    }
    let pool = Arc::new(ClusterPool::new(config.server_policy()?));
    let transport = transport::Transport::load(&config)?;
    let (shutdown, shutdown_rx) = watch::channel(false);
    let metrics = Arc::new(metrics::Metrics::new());
    let running = Arc::new(shutdown::InFlight::default());
    let mut health = Vec::new();
    let mut listeners = Vec::new();
    let mut adapters: Vec<Arc<Adapter>> = Vec::new();
    let mut tasks = Vec::new();
    let audit =
        Arc::new(AuditLog::open(config.audit_log.as_deref()).map_err(|e| Error::Config(format!("audit log: {e}")))?);
    let registration = match config.registration()? {
        Some(settings) => {
            let client = registration::client(&settings.url)?;
            Some((Arc::new(settings), client))
        }
        None => None,
    };
    // The meshes the built-in plugins serve, and by which: a plugin file reporting one of them
    // is never registered, whatever the order of the configuration.
    let builtin_meshes: Vec<(String, String)> = loaded
        .iter()
        .filter(|(pc, _, _)| pc.builtin.is_some())
        .map(|(pc, p, _)| (p.info().mesh.to_ascii_lowercase(), pc.name.clone()))
        .collect();
    let mut registering: Vec<(String, String)> = Vec::new();
    for (pc, plugin, grant) in loaded {
        let info = plugin.info().clone();
        // One line per plugin at start; the rules themselves at debug (`wasmesh plugins` lists them).
        let effective = grant.effective();
        let operations = grant
            .operations
            .as_ref()
            .map_or("all".to_string(), |ops| ops.join(", "));
        tracing::info!(plugin = %pc.name, "granted {} rule(s); operations: {operations}", effective.len());
        for r in &effective {
            tracing::debug!(plugin = %pc.name, "effective grant: {}", grant::describe_rule(r));
        }
        let settings = adapter_settings(&config, &pc, grant, &metrics, running.clone());
        if config.cache_dir.is_some() {
            metrics.plugin(&pc.name).compile_cache(plugin.from_cache());
        }
        let adapter = Arc::new(Adapter::new(settings, plugin, pool.clone(), audit.clone()));
        let addr = format!("{}:{}", config.listen, pc.port);
        let tcp = TcpListener::bind(&addr).await.map_err(|source| Error::Listen {
            addr: addr.clone(),
            source,
        })?;
        let local = tcp.local_addr().map_err(|source| Error::Listen { addr, source })?;
        let service = grpc::Service {
            adapter: adapter.clone(),
            git_sha: env!("WASMESH_GIT_SHA"),
        };
        let mut stop = shutdown_rx.clone();
        let mut builder = tonic::transport::Server::builder();
        if let Some(tls) = &transport.tls {
            builder = builder
                .tls_config(tls.clone())
                .map_err(|e| Error::Config(format!("tls: {e}")))?;
        }
        let auth = transport.clone();
        let check = move |req| auth.authorize(req);
        // Health answers without the token: Kubernetes' gRPC probes cannot send one, and it
        // tells nothing but whether the listener serves.
        let (listener_health, health_service) = health::Health::new().await;
        let (reflection_v1, reflection_v1alpha) = health::reflection()?;
        let server = builder
            .add_service(health_service)
            .add_service(InterceptedService::new(reflection_v1, check.clone()))
            .add_service(InterceptedService::new(reflection_v1alpha, check.clone()))
            .add_service(InterceptedService::new(
                MeshServiceServer::new(service.clone()).max_decoding_message_size(MAX_MESSAGE_BYTES),
                check.clone(),
            ))
            .add_service(InterceptedService::new(
                AdapterServiceServer::new(service).max_decoding_message_size(MAX_MESSAGE_BYTES),
                check,
            ))
            .serve_with_incoming_shutdown(
                // Small gRPC frames (an event after a response) must not wait for a delayed ACK:
                // without TCP_NODELAY each operation's final event arrived ~40 ms late.
                tonic::transport::server::TcpIncoming::from(tcp).with_nodelay(Some(true)),
                async move {
                    let _ = stop.wait_for(|s| *s).await;
                },
            );
        let name = pc.name.clone();
        tasks.push(tokio::spawn(async move {
            if let Err(e) = server.await {
                tracing::error!(plugin = %name, "listener stopped: {e}");
            }
        }));
        listener_health.serving().await;
        health.push(listener_health);
        tracing::info!(plugin = %pc.name, adapter = %info.name, %local, sha256 = %adapter.plugin.sha256(), cached = adapter.plugin.from_cache(), "serving");
        listeners.push(Listener {
            plugin: pc.name.clone(),
            adapter_name: info.name.clone(),
            addr: local,
        });
        if let Some((settings, client)) = &registration {
            // One plugin per mesh: Meshery routes a design component by its mesh's model name,
            // so a second plugin claiming it would take the first one's designs. Names are
            // compared without case, and a built-in plugin's mesh stays the built-in plugin's.
            let mesh = info.mesh.to_ascii_lowercase();
            let builtin_owner = builtin_meshes
                .iter()
                .find(|(m, owner)| *m == mesh && pc.builtin.is_none() && *owner != pc.name)
                .map(|(_, owner)| owner.clone());
            let owner = builtin_owner.or_else(|| {
                registering
                    .iter()
                    .find(|(m, _)| *m == mesh)
                    .map(|(_, name): &(String, String)| name.clone())
            });
            if let Some(owner) = owner {
                tracing::error!(
                    plugin = %pc.name,
                    "not registered with the Meshery server: it reports mesh \"{}\", which plugin {owner} registers; \
                     serve one plugin per mesh",
                    info.mesh.escape_debug(),
                );
            } else {
                registering.push((mesh, pc.name.clone()));
                // Its own task: serving never waits for the Meshery server.
                tasks.push(tokio::spawn(registration::serve(
                    adapter.clone(),
                    local.port(),
                    pc.builtin.is_some(),
                    settings.clone(),
                    client.clone(),
                    shutdown_rx.clone(),
                )));
            }
        }
        adapters.push(adapter);
    }
    let metrics_addr = match &config.metrics_addr {
        Some(addr) => {
            let (local, task) = metrics::serve(addr, metrics.clone(), shutdown_rx.clone()).await?;
            tasks.push(task);
            Some(local)
        }
        None => None,
    };
    Ok(RunningHost {
        listeners,
        skipped,
        adapters,
        metrics_addr,
        metrics,
        running,
        grace: config.shutdown_grace(),
        health,
        shutdown,
        tasks,
        _runtime: runtime,
    })
}
