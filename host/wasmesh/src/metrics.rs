//! Prometheus metrics (OpenMetrics text) on their own HTTP port, off unless `metrics_addr` is
//! set. Every label value is bounded: plugin names and operation keys come from the
//! configuration and the plugins' manifests, outcomes and reasons are fixed words or error codes;
//! namespaces, object names and other request text never become labels.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::Full;
use hyper::{Method, Request, Response, StatusCode};
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::{Registry, Unit};
use tokio::net::TcpListener;
use tokio::sync::watch;

use crate::errors::{Error, Result};

/// Connections the metrics endpoint serves at once; more are closed.
const MAX_METRICS_CONNECTIONS: usize = 64;
/// Time a client has to send its request headers.
const METRICS_HEADER_TIMEOUT: Duration = Duration::from_secs(5);
/// Time one connection may last, scrape included.
const METRICS_CONNECTION_TIMEOUT: Duration = Duration::from_secs(30);

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct PluginLabels {
    plugin: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct OperationLabels {
    plugin: String,
    key: String,
    outcome: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct KeyLabels {
    plugin: String,
    key: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct CallLabels {
    plugin: String,
    call: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RuleLabels {
    plugin: String,
    rule: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct LevelLabels {
    plugin: String,
    level: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RegistrationLabels {
    plugin: String,
    outcome: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ReasonLabels {
    plugin: String,
    reason: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct CodeLabels {
    plugin: String,
    code: String,
}

type Histograms<L> = Family<L, Histogram, fn() -> Histogram>;

/// Operations take from milliseconds (a refused plan) to many minutes (an install that waits).
fn operation_buckets() -> Histogram {
    Histogram::new(exponential_buckets(0.01, 2.0, 17))
}

/// A plugin call takes from microseconds to its time limit (10 s by default).
fn call_buckets() -> Histogram {
    Histogram::new(exponential_buckets(0.0001, 2.0, 18))
}

/// The host's metrics; one set per running host.
pub struct Metrics {
    registry: Registry,
    operations: Family<OperationLabels, Counter>,
    in_flight: Family<PluginLabels, Gauge>,
    operation_duration: Histograms<KeyLabels>,
    plugin_call_duration: Histograms<CallLabels>,
    capability_denials: Family<RuleLabels, Counter>,
    events_published: Family<LevelLabels, Counter>,
    events_dropped: Family<ReasonLabels, Counter>,
    subscribers: Family<PluginLabels, Gauge>,
    plans_refused: Family<CodeLabels, Counter>,
    cluster_api_errors: Family<CodeLabels, Counter>,
    compile_cache_hits: Family<PluginLabels, Counter>,
    compile_cache_misses: Family<PluginLabels, Counter>,
    registrations: Family<RegistrationLabels, Counter>,
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    pub fn new() -> Self {
        let mut registry = Registry::with_prefix("wasmesh");
        let m = Metrics {
            operations: Family::default(),
            in_flight: Family::default(),
            operation_duration: Family::new_with_constructor(operation_buckets),
            plugin_call_duration: Family::new_with_constructor(call_buckets),
            capability_denials: Family::default(),
            events_published: Family::default(),
            events_dropped: Family::default(),
            subscribers: Family::default(),
            plans_refused: Family::default(),
            cluster_api_errors: Family::default(),
            compile_cache_hits: Family::default(),
            compile_cache_misses: Family::default(),
            registrations: Family::default(),
            registry: Registry::default(),
        };
        let r = &mut registry;
        r.register(
            "operations",
            "Operations and designs by plugin, operation key (design for designs) and outcome (success, failure, refused, cut_off)",
            m.operations.clone(),
        );
        r.register(
            "operations_in_flight",
            "Operations and designs running now",
            m.in_flight.clone(),
        );
        r.register_with_unit(
            "operation_duration",
            "Time from an accepted operation to its last event, by plugin and operation key",
            Unit::Seconds,
            m.operation_duration.clone(),
        );
        r.register_with_unit(
            "plugin_call_duration",
            "Time in one plugin call (plan, provision), cluster reads included",
            Unit::Seconds,
            m.plugin_call_duration.clone(),
        );
        r.register(
            "capability_denials",
            "Actions the grant refused, by rule: kube_rule (no granted rule allows the verb on the resource), \
             rbac_escalation (a Role or binding beyond the plugin's own rights), namespace_metadata (an \
             undeclared namespace label or annotation), operation (an operation not granted)",
            m.capability_denials.clone(),
        );
        r.register(
            "events_published",
            "Events published to StreamEvents, by level",
            m.events_published.clone(),
        );
        r.register(
            "events_dropped",
            "Events lost: backlog_full (the oldest kept event went while nobody subscribed), subscriber_behind (a subscriber that stopped reading missed it)",
            m.events_dropped.clone(),
        );
        r.register(
            "event_subscribers",
            "StreamEvents subscribers connected",
            m.subscribers.clone(),
        );
        r.register(
            "plans_refused",
            "Plans refused before anything was written, by error code",
            m.plans_refused.clone(),
        );
        r.register(
            "cluster_api_errors",
            "Errors from Kubernetes API servers, by WASMESH-CLUSTER error code",
            m.cluster_api_errors.clone(),
        );
        r.register(
            "compile_cache_hits",
            "Plugins loaded from the compile cache",
            m.compile_cache_hits.clone(),
        );
        r.register(
            "compile_cache_misses",
            "Plugins compiled because the compile cache had no usable entry",
            m.compile_cache_misses.clone(),
        );
        r.register(
            "registrations",
            "Component definitions sent to the Meshery server, by outcome: registered, failed (one try), given_up (its retry window ran out)",
            m.registrations.clone(),
        );
        Metrics { registry, ..m }
    }

    /// The handle one plugin's code records through.
    pub fn plugin(self: &Arc<Self>, plugin: &str) -> PluginMetrics {
        PluginMetrics {
            plugin: plugin.to_string(),
            metrics: self.clone(),
        }
    }

    /// Everything, in the OpenMetrics text format.
    pub fn encode(&self) -> String {
        let mut out = String::new();
        prometheus_client::encoding::text::encode(&mut out, &self.registry).expect("writing to a String cannot fail");
        out
    }
}

/// One plugin's metrics.
#[derive(Clone)]
pub struct PluginMetrics {
    plugin: String,
    metrics: Arc<Metrics>,
}

/// How an operation ended, as its `outcome` label says.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    Success,
    Failure,
    /// Refused before any work (bad input, not granted, busy).
    Refused,
    /// Still running when the shutdown grace period ended.
    CutOff,
}

impl Outcome {
    fn label(self) -> &'static str {
        match self {
            Outcome::Success => "success",
            Outcome::Failure => "failure",
            Outcome::Refused => "refused",
            Outcome::CutOff => "cut_off",
        }
    }
}

impl PluginMetrics {
    /// Metrics nobody serves (describe calls, unit tests).
    pub fn detached(plugin: &str) -> Self {
        Arc::new(Metrics::new()).plugin(plugin)
    }

    fn plugin(&self) -> PluginLabels {
        PluginLabels {
            plugin: self.plugin.clone(),
        }
    }

    /// `key` must be an operation key the plugin offers, or `design`: never request text.
    pub fn operation(&self, key: &str, outcome: Outcome) {
        self.metrics
            .operations
            .get_or_create(&OperationLabels {
                plugin: self.plugin.clone(),
                key: key.to_string(),
                outcome: outcome.label(),
            })
            .inc();
    }

    pub fn operation_started(&self) {
        self.metrics.in_flight.get_or_create(&self.plugin()).inc();
    }

    /// An accepted operation ended (`key` as for [`PluginMetrics::operation`]).
    pub fn operation_ended(&self, key: &str, took: Duration, outcome: Outcome) {
        self.metrics.in_flight.get_or_create(&self.plugin()).dec();
        self.operation(key, outcome);
        self.metrics
            .operation_duration
            .get_or_create(&KeyLabels {
                plugin: self.plugin.clone(),
                key: key.to_string(),
            })
            .observe(took.as_secs_f64());
    }

    pub fn plugin_call(&self, call: &'static str, took: Duration) {
        self.metrics
            .plugin_call_duration
            .get_or_create(&CallLabels {
                plugin: self.plugin.clone(),
                call,
            })
            .observe(took.as_secs_f64());
    }

    pub fn capability_denied(&self, rule: &'static str) {
        self.metrics
            .capability_denials
            .get_or_create(&RuleLabels {
                plugin: self.plugin.clone(),
                rule,
            })
            .inc();
    }

    pub fn event_published(&self, level: &'static str) {
        self.metrics
            .events_published
            .get_or_create(&LevelLabels {
                plugin: self.plugin.clone(),
                level,
            })
            .inc();
    }

    pub fn event_dropped(&self, reason: &'static str) {
        self.metrics
            .events_dropped
            .get_or_create(&ReasonLabels {
                plugin: self.plugin.clone(),
                reason,
            })
            .inc();
    }

    pub fn subscribers(&self, n: usize) {
        self.metrics
            .subscribers
            .get_or_create(&self.plugin())
            .set(i64::try_from(n).unwrap_or(i64::MAX));
    }

    /// `code` is one of the host's error codes (a fixed set).
    pub fn plan_refused(&self, code: &str) {
        self.metrics
            .plans_refused
            .get_or_create(&CodeLabels {
                plugin: self.plugin.clone(),
                code: code.to_string(),
            })
            .inc();
    }

    pub fn cluster_error(&self, e: &wasmesh_cluster::Error) {
        self.metrics
            .cluster_api_errors
            .get_or_create(&CodeLabels {
                plugin: self.plugin.clone(),
                code: e.code().to_string(),
            })
            .inc();
    }

    /// One registration try's outcome: registered, failed or given_up.
    pub fn registration(&self, outcome: &'static str) {
        self.metrics
            .registrations
            .get_or_create(&RegistrationLabels {
                plugin: self.plugin.clone(),
                outcome,
            })
            .inc();
    }

    pub fn compile_cache(&self, hit: bool) {
        let family = if hit {
            &self.metrics.compile_cache_hits
        } else {
            &self.metrics.compile_cache_misses
        };
        family.get_or_create(&self.plugin()).inc();
    }
}

/// Serves `GET /metrics` on `addr` until `stop` turns true; returns the bound address.
pub async fn serve(
    addr: &str,
    metrics: Arc<Metrics>,
    mut stop: watch::Receiver<bool>,
) -> Result<(SocketAddr, tokio::task::JoinHandle<()>)> {
    let tcp = TcpListener::bind(addr).await.map_err(|source| Error::Listen {
        addr: addr.to_string(),
        source,
    })?;
    let local = tcp.local_addr().map_err(|source| Error::Listen {
        addr: addr.to_string(),
        source,
    })?;
    // Scrapers are few: a bound on connections and on the time to send headers keeps idle or
    // half-open connections from using up the process's file descriptors.
    let connections = Arc::new(tokio::sync::Semaphore::new(MAX_METRICS_CONNECTIONS));
    let task = tokio::spawn(async move {
        loop {
            let accepted = tokio::select! {
                _ = stop.wait_for(|s| *s) => break,
                accepted = tcp.accept() => accepted,
            };
            let (io, _) = match accepted {
                Ok(a) => a,
                Err(e) => {
                    // Out of descriptors, say: the same error comes back at once, so pause
                    // instead of spinning (and flooding the log).
                    tracing::warn!("metrics listener: {e}");
                    tokio::time::sleep(std::time::Duration::from_millis(100)).await;
                    continue;
                }
            };
            let Ok(permit) = connections.clone().try_acquire_owned() else {
                // Over the bound: closed at once.
                continue;
            };
            let metrics = metrics.clone();
            tokio::spawn(async move {
                let _permit = permit;
                let service = hyper::service::service_fn(move |req: Request<hyper::body::Incoming>| {
                    let metrics = metrics.clone();
                    async move { Ok::<_, std::convert::Infallible>(respond(&req, &metrics)) }
                });
                let conn = hyper::server::conn::http1::Builder::new()
                    .timer(hyper_util::rt::TokioTimer::new())
                    .header_read_timeout(METRICS_HEADER_TIMEOUT)
                    .keep_alive(false)
                    .serve_connection(hyper_util::rt::TokioIo::new(io), service);
                // A scrape that does not finish in time is dropped.
                let _ = tokio::time::timeout(METRICS_CONNECTION_TIMEOUT, conn).await;
            });
        }
    });
    tracing::info!(%local, "metrics on http://{local}/metrics");
    Ok((local, task))
}

fn respond(req: &Request<hyper::body::Incoming>, metrics: &Metrics) -> Response<Full<Bytes>> {
    let reply = |status: StatusCode, content_type: &str, body: String| {
        Response::builder()
            .status(status)
            .header("content-type", content_type)
            .body(Full::new(Bytes::from(body)))
            .expect("a valid response")
    };
    if req.uri().path() != "/metrics" {
        return reply(
            StatusCode::NOT_FOUND,
            "text/plain",
            "only /metrics is served here\n".into(),
        );
    }
    if req.method() != Method::GET && req.method() != Method::HEAD {
        return reply(StatusCode::METHOD_NOT_ALLOWED, "text/plain", "use GET\n".into());
    }
    reply(
        StatusCode::OK,
        "application/openmetrics-text; version=1.0.0; charset=utf-8",
        metrics.encode(),
    )
}
