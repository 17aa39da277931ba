//! What a Store holds during one call, and the one dispatch point for host calls.

use wasmtime::StoreLimits;
use wasmtime::component::ResourceTable;
use wasmtime_wasi::p2::pipe::MemoryOutputPipe;
use wasmtime_wasi::{WasiCtx, WasiCtxView, WasiView};

use crate::bindings::wasmesh::adapter::{cluster, progress, types};

/// Everything a guest may ask of the host during one call. The host implements it once per call
/// (per cluster), so capability checks and auditing live in one place.
pub trait HostCalls: Send + 'static {
    fn cluster_get(
        &mut self,
        api_version: String,
        kind: String,
        namespace: Option<String>,
        name: String,
    ) -> impl Future<Output = Result<Option<String>, types::Error>> + Send;

    fn cluster_list(
        &mut self,
        query: cluster::ListQuery,
    ) -> impl Future<Output = Result<Vec<String>, types::Error>> + Send;

    fn progress(&mut self, level: types::Level, summary: String, details: String, error: Option<types::Error>);
}

/// Caps on what one call may push through `progress`.
pub(crate) const MAX_REPORTS: usize = 1000;
pub(crate) const MAX_REPORT_BYTES: usize = 16 * 1024;

pub(crate) struct StoreState<H> {
    pub(crate) wasi: WasiCtx,
    pub(crate) table: ResourceTable,
    pub(crate) limits: StoreLimits,
    pub(crate) host: H,
    pub(crate) stdout: MemoryOutputPipe,
    pub(crate) stderr: MemoryOutputPipe,
    pub(crate) reports: usize,
    /// The plugin's share of the pool, held until the call's Store is gone.
    pub(crate) _slot: crate::plugin::SlotGuard,
}

impl<H: HostCalls> WasiView for StoreState<H> {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView {
            ctx: &mut self.wasi,
            table: &mut self.table,
        }
    }
}

impl<H: HostCalls> types::Host for StoreState<H> {}

impl<H: HostCalls> cluster::Host for StoreState<H> {
    async fn get(
        &mut self,
        api_version: String,
        kind: String,
        namespace: Option<String>,
        name: String,
    ) -> Result<Option<String>, types::Error> {
        self.host.cluster_get(api_version, kind, namespace, name).await
    }

    async fn list(&mut self, query: cluster::ListQuery) -> Result<Vec<String>, types::Error> {
        self.host.cluster_list(query).await
    }
}

impl<H: HostCalls> progress::Host for StoreState<H> {
    async fn report(&mut self, level: types::Level, summary: String, details: String) {
        if self.admit_report() {
            self.host.progress(level, clip(summary), clip(details), None);
        }
    }

    async fn report_error(&mut self, level: types::Level, error: types::Error) {
        if self.admit_report() {
            let error = types::Error {
                code: clip(error.code),
                message: clip(error.message),
                probable_cause: clip(error.probable_cause),
                suggested_remediation: clip(error.suggested_remediation),
            };
            self.host
                .progress(level, error.message.clone(), String::new(), Some(error));
        }
    }
}

impl<H> StoreState<H> {
    /// A plugin that floods progress loses the excess, not the host's memory.
    fn admit_report(&mut self) -> bool {
        self.reports += 1;
        if self.reports == MAX_REPORTS + 1 {
            tracing::warn!("plugin exceeded {MAX_REPORTS} progress reports in one call; dropping the rest");
        }
        self.reports <= MAX_REPORTS
    }
}

fn clip(mut s: String) -> String {
    if s.len() > MAX_REPORT_BYTES {
        let mut end = MAX_REPORT_BYTES;
        while !s.is_char_boundary(end) {
            end -= 1;
        }
        s.truncate(end);
        s.push_str(" [truncated]");
    }
    s
}
