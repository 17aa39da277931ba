//! Engine, loading and calling translator components.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::time::Duration;

use sha2::{Digest, Sha256};
use wasmtime::component::{Component, HasSelf, Instance, Linker, ResourceTable};
use wasmtime::{Config, Engine, InstanceAllocationStrategy, PoolingAllocationConfig, Store, StoreLimitsBuilder, Trap};
use wasmtime_wasi::p2::pipe::MemoryOutputPipe;
use wasmtime_wasi::{FsPerms, WasiCtxBuilder};

use crate::WIT_PACKAGE;
use crate::bindings::registrable::exports::wasmesh::adapter::registry;
use crate::bindings::wasmesh::adapter::types;
use crate::bindings::{Translator, TranslatorIndices, TranslatorPre};
use crate::cache::CompileCache;
use crate::errors::{Error, Result};
use crate::manifest::{self, Manifest};
use crate::state::{HostCalls, StoreState};

/// One epoch tick; call deadlines are counted in these.
const TICK: Duration = Duration::from_millis(10);
/// Guest stdout/stderr kept per call before writes fail; the text goes to the host log.
const OUTPUT_CAPACITY: usize = 256 * 1024;

/// What one call may take from the instance pool (and create in its Store), at most. A Rust
/// translator built for wasm32-wasip2 instantiates 3 core modules (its own and wit-component's
/// shim and fixups) with 1 memory and 2 tables; the limits leave room for other
/// toolchains. A component that needs more is refused at load, so one plugin with hundreds of
/// modules cannot take the pool's memories away from the others.
pub const MAX_CORE_INSTANCES_PER_CALL: u32 = 16;
pub const MAX_MEMORIES_PER_CALL: u32 = 2;
pub const MAX_TABLES_PER_CALL: u32 = 8;
/// Host-side handles (WASI streams, pollables, ...) one call may hold at once: each costs host
/// memory outside the plugin's memory limit.
pub const MAX_HOST_RESOURCES_PER_CALL: usize = 4096;
/// What the host copies out of one plugin call at most, unless the configuration asks for more
/// ([`RuntimeConfig::max_result_bytes`]).
pub const DEFAULT_MAX_RESULT_BYTES: usize = 32 << 20;

#[derive(Clone, Debug)]
pub struct RuntimeConfig {
    /// Linear memory one call may grow to.
    pub memory_limit: usize,
    /// Wall-clock time one call (including its cluster reads) may take.
    pub call_timeout: Duration,
    /// Calls that may be in flight at once (pooling allocator slots), all plugins together.
    /// Each loaded plugin may hold an equal share of them (`max_instances / plugins`), so a flood
    /// of calls to one plugin leaves the others their share.
    pub max_instances: u32,
    /// Where compiled components are cached; None compiles at every start.
    pub cache_dir: Option<PathBuf>,
    /// The most the host copies out of one call: its result, and the arguments of each call it
    /// makes to the host, each on its own. Counted before anything is copied (wasmtime's
    /// "hostcall fuel"): every string's bytes, and every list's length times the host size of
    /// its element (24 bytes for a string, more for a record), so it bounds bytes and elements
    /// alike, nested lists included. The guest's memory limit does not bound this: a list of a
    /// million strings may all point at the same 16 MiB of guest memory, and lifting copies each.
    pub max_result_bytes: usize,
}

impl Default for RuntimeConfig {
    fn default() -> Self {
        Self {
            memory_limit: 64 << 20,
            call_timeout: Duration::from_secs(10),
            max_instances: 128,
            cache_dir: None,
            max_result_bytes: DEFAULT_MAX_RESULT_BYTES,
        }
    }
}

/// Imports a translator may have: the contract and the WASI subset Rust's std links. Sockets are
/// linked so a guest that tries them gets a denial at run time, never a connection.
const ALLOWED_IMPORT_PREFIXES: &[&str] = &[
    "wasmesh:adapter/types@0.1.0",
    "wasmesh:adapter/cluster@0.1.0",
    "wasmesh:adapter/progress@0.1.0",
    "wasi:cli/",
    "wasi:io/",
    "wasi:clocks/",
    "wasi:filesystem/",
    "wasi:random/",
    "wasi:sockets/",
];

pub struct Runtime<H: HostCalls> {
    engine: Engine,
    linker: Linker<StoreState<H>>,
    cache: CompileCache,
    config: RuntimeConfig,
    slots: Arc<Slots>,
    ticker_stop: Arc<AtomicBool>,
}

/// The pool's instance slots and the plugins sharing them.
struct Slots {
    total: u32,
    plugins: AtomicU32,
}

impl Slots {
    /// The calls one plugin may have in flight: an equal share, so that every plugin can always
    /// get its own share however busy the others are (the shares add up to at most the total).
    fn share(&self) -> u32 {
        (self.total / self.plugins.load(Ordering::Relaxed).max(1)).max(1)
    }
}

/// One plugin's part of the pool: counted in [`Slots::plugins`] while it lives.
struct Share {
    slots: Arc<Slots>,
    in_flight: Arc<AtomicU32>,
}

impl Share {
    fn new(slots: Arc<Slots>) -> Self {
        slots.plugins.fetch_add(1, Ordering::Relaxed);
        Self {
            slots,
            in_flight: Arc::new(AtomicU32::new(0)),
        }
    }

    /// A slot for one call, or why not; the slot is given back when the guard drops (after the
    /// call's Store, which holds the pool's slot).
    fn enter(&self) -> std::result::Result<SlotGuard, String> {
        let share = self.slots.share();
        let before = self.in_flight.fetch_add(1, Ordering::AcqRel);
        if before >= share {
            self.in_flight.fetch_sub(1, Ordering::AcqRel);
            return Err(format!(
                "it already runs {before} calls, its share of the {} instance slots the {} loaded plugins share",
                self.slots.total,
                self.slots.plugins.load(Ordering::Relaxed)
            ));
        }
        Ok(SlotGuard(self.in_flight.clone()))
    }
}

impl Drop for Share {
    fn drop(&mut self) {
        self.slots.plugins.fetch_sub(1, Ordering::Relaxed);
    }
}

pub(crate) struct SlotGuard(Arc<AtomicU32>);

impl Drop for SlotGuard {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::AcqRel);
    }
}

impl<H: HostCalls> Drop for Runtime<H> {
    fn drop(&mut self) {
        self.ticker_stop.store(true, Ordering::Relaxed);
    }
}

impl<H: HostCalls> Runtime<H> {
    pub fn new(config: RuntimeConfig) -> Result<Self> {
        let engine_err = |e: wasmtime::Error| Error::Engine(format!("{e:#}"));
        let mut pool = PoolingAllocationConfig::default();
        // Every call takes at most the per-call limits, so `max_instances` calls always fit: the
        // pool runs out of component slots (a plugin's share, then Busy) before anything else.
        let n = config.max_instances;
        pool.total_component_instances(n)
            .total_core_instances(n * MAX_CORE_INSTANCES_PER_CALL)
            .total_memories(n * MAX_MEMORIES_PER_CALL)
            .total_tables(n * MAX_TABLES_PER_CALL)
            .total_stacks(n)
            .max_core_instances_per_component(MAX_CORE_INSTANCES_PER_CALL)
            .max_memories_per_component(MAX_MEMORIES_PER_CALL)
            .max_tables_per_component(MAX_TABLES_PER_CALL)
            .max_memory_size(config.memory_limit);
        let mut wasm = Config::new();
        wasm.epoch_interruption(true)
            .allocation_strategy(InstanceAllocationStrategy::Pooling(pool));
        let engine = Engine::new(&wasm).map_err(engine_err)?;

        let mut linker = Linker::new(&engine);
        wasmtime_wasi::p2::add_to_linker_async(&mut linker).map_err(engine_err)?;
        Translator::add_to_linker::<_, HasSelf<StoreState<H>>>(&mut linker, |s| s).map_err(engine_err)?;

        let ticker_stop = Arc::new(AtomicBool::new(false));
        {
            let engine = engine.clone();
            let stop = ticker_stop.clone();
            std::thread::Builder::new()
                .name("wasmesh-epoch".into())
                .spawn(move || {
                    while !stop.load(Ordering::Relaxed) {
                        std::thread::sleep(TICK);
                        engine.increment_epoch();
                    }
                })
                .map_err(|e| Error::Engine(e.to_string()))?;
        }

        let cache = CompileCache::new(&engine, config.cache_dir.clone());
        let slots = Arc::new(Slots {
            total: config.max_instances,
            plugins: AtomicU32::new(0),
        });
        Ok(Self {
            engine,
            linker,
            cache,
            config,
            slots,
            ticker_stop,
        })
    }

    pub fn config(&self) -> &RuntimeConfig {
        &self.config
    }

    /// Reads the plugin's manifest, compiles (or takes from the cache) and links the component,
    /// then asks it to describe itself. `host` serves the describe call, which must not need the
    /// cluster.
    ///
    /// The imports and the manifest are read from the bytes first: a component that imports
    /// more than the contract, or has no valid manifest, is refused before it is compiled or
    /// run. A plugin whose describe reports other capabilities than its manifest is refused too.
    pub async fn load(&self, name: &str, wasm: &[u8], host: H) -> Result<Plugin<H>> {
        self.load_with_assets(name, wasm, host, None).await
    }

    /// [`Runtime::load`], granting the plugin the read-only asset folder `assets` (see
    /// [`crate::assets`]) in every call, describe included (its mesh versions may come from
    /// there). Refused before anything runs when the manifest does not declare `assets`, or when
    /// the folder is not one.
    pub async fn load_with_assets(&self, name: &str, wasm: &[u8], host: H, assets: Option<&Path>) -> Result<Plugin<H>> {
        let scan = manifest::scan(name, wasm)?;
        check_import_names(name, scan.imports.iter().map(|n| n.to_string()))?;
        let manifest = scan.manifest(name)?;
        let assets = match assets {
            Some(dir) => Some(crate::assets::check(name, manifest.capabilities.assets, dir)?),
            None => None,
        };
        let sha256 = hex::encode(Sha256::digest(wasm));
        let started = std::time::Instant::now();
        let (component, from_cache) = self.cache.load(&self.engine, name, &sha256, wasm, |wasm| {
            compile(&self.engine, name, wasm)
        })?;
        let compile_time = started.elapsed();
        self.check_imports(name, &component)?;
        let instance_pre = self.linker.instantiate_pre(&component).map_err(|e| Error::Link {
            plugin: name.to_string(),
            contract: WIT_PACKAGE,
            reason: format!("{e:#}"),
        })?;
        // The registry export is optional: a translator without it registers nothing.
        let registry = registry::GuestIndices::new(&instance_pre).ok();
        let pre = TranslatorPre::new(instance_pre).map_err(|e| Error::Link {
            plugin: name.to_string(),
            contract: WIT_PACKAGE,
            reason: format!("{e:#}"),
        })?;
        let indices = TranslatorIndices::new(pre.instance_pre()).map_err(|e| Error::Link {
            plugin: name.to_string(),
            contract: WIT_PACKAGE,
            reason: format!("{e:#}"),
        })?;
        let mut plugin = Plugin {
            name: name.to_string(),
            sha256,
            from_cache,
            compile_time,
            pre,
            indices,
            registry,
            info: None,
            manifest,
            assets,
            limits: self.config.clone(),
            share: Share::new(self.slots.clone()),
        };
        let (info, _) = plugin.describe(host).await;
        let info = info?;
        manifest::check_describe(name, &plugin.manifest.capabilities, &info.capabilities)?;
        manifest::check_rule_operations(name, &plugin.manifest, &info.operations)?;
        plugin.info = Some(info);
        Ok(plugin)
    }

    /// The compiled component's imports, as wasmtime sees them (the same names as the check on
    /// the bytes before compiling; kept as the authoritative one).
    fn check_imports(&self, name: &str, component: &Component) -> Result<()> {
        let ty = component.component_type();
        check_import_names(name, ty.imports(&self.engine).map(|(n, _)| n.to_string()))
    }
}

fn compile(engine: &Engine, plugin: &str, wasm: &[u8]) -> Result<Component> {
    Component::new(engine, wasm).map_err(|e| {
        let reason = format!("{e:#}");
        // The pooling allocator checks the per-call limits when the component is compiled (and
        // again when an artifact is deserialized); its message names the count and the limit.
        if reason.contains("exceeds the configured maximum") {
            Error::TooManyResources {
                plugin: plugin.to_string(),
                reason,
                core_instances: MAX_CORE_INSTANCES_PER_CALL,
                memories: MAX_MEMORIES_PER_CALL,
                tables: MAX_TABLES_PER_CALL,
            }
        } else {
            Error::InvalidComponent {
                plugin: plugin.to_string(),
                reason,
            }
        }
    })
}

fn check_import_names(name: &str, imports: impl Iterator<Item = String>) -> Result<()> {
    let forbidden: Vec<String> = imports
        .filter(|n| !ALLOWED_IMPORT_PREFIXES.iter().any(|p| n.starts_with(p)))
        .collect();
    if forbidden.is_empty() {
        Ok(())
    } else {
        Err(Error::ForbiddenImports {
            plugin: name.to_string(),
            imports: forbidden.join(", "),
            contract: WIT_PACKAGE,
        })
    }
}

/// A loaded translator: its pre-instantiated component, its manifest and what it said about
/// itself.
pub struct Plugin<H: HostCalls> {
    name: String,
    sha256: String,
    from_cache: bool,
    /// How long compiling took at load (or reading the compile cache, when `from_cache`).
    compile_time: Duration,
    pre: TranslatorPre<StoreState<H>>,
    indices: TranslatorIndices,
    /// Present when the component exports `wasmesh:adapter/registry`.
    registry: Option<registry::GuestIndices>,
    info: Option<types::Info>,
    manifest: Manifest,
    /// The asset folder preopened read-only in each call, when the operator granted one.
    assets: Option<PathBuf>,
    limits: RuntimeConfig,
    share: Share,
}

/// The result of one call, and the caller's host-call state back.
pub type CallOutcome<R, H> = (Result<R>, H);

impl<H: HostCalls> Plugin<H> {
    pub fn name(&self) -> &str {
        &self.name
    }

    pub fn sha256(&self) -> &str {
        &self.sha256
    }

    /// Whether the compiled code came from the compile cache.
    pub fn from_cache(&self) -> bool {
        self.from_cache
    }

    /// How long the host took to compile the component at load, with its one Engine
    /// configuration (or to take it from the compile cache, when [`Plugin::from_cache`]).
    pub fn compile_time(&self) -> Duration {
        self.compile_time
    }

    /// The component's imports and exports, with the functions of each interface.
    pub fn surface(&self) -> crate::surface::Surface {
        crate::surface::of(self.pre.engine(), self.pre.instance_pre().component())
    }

    pub fn info(&self) -> &types::Info {
        self.info.as_ref().expect("info is set at load")
    }

    /// The capabilities the plugin declares in its manifest (describe reported the same).
    pub fn declared(&self) -> &types::Capabilities {
        &self.manifest.capabilities
    }

    /// The plugin's manifest, as read from its `wasmesh:manifest` section.
    pub fn manifest(&self) -> &Manifest {
        &self.manifest
    }

    /// The asset folder the plugin's calls see at [`crate::assets::GUEST_PATH`], if granted.
    pub fn assets(&self) -> Option<&Path> {
        self.assets.as_deref()
    }

    pub async fn describe(&self, host: H) -> CallOutcome<types::Info, H> {
        let (mut store, instance) = match self.instantiate(host, "describe").await {
            Ok(x) => x,
            Err((e, host)) => return (Err(e), host),
        };
        let r = match self.indices.load(&mut store, &instance) {
            Ok(t) => self.bounded(t.call_describe(&mut store)).await,
            Err(e) => Err(e),
        };
        self.finish(store, "describe", r)
    }

    pub async fn plan(
        &self,
        host: H,
        request: &types::OperationRequest,
    ) -> CallOutcome<Result<types::Plan, types::Error>, H> {
        let (mut store, instance) = match self.instantiate(host, "plan").await {
            Ok(x) => x,
            Err((e, host)) => return (Err(e), host),
        };
        let r = match self.indices.load(&mut store, &instance) {
            Ok(t) => self.bounded(t.call_plan(&mut store, request)).await,
            Err(e) => Err(e),
        };
        self.finish(store, "plan", r)
    }

    pub async fn provision(
        &self,
        host: H,
        request: &types::DesignRequest,
    ) -> CallOutcome<Result<types::DesignPlan, types::Error>, H> {
        let (mut store, instance) = match self.instantiate(host, "provision").await {
            Ok(x) => x,
            Err((e, host)) => return (Err(e), host),
        };
        let r = match self.indices.load(&mut store, &instance) {
            Ok(t) => self.bounded(t.call_provision(&mut store, request)).await,
            Err(e) => Err(e),
        };
        self.finish(store, "provision", r)
    }

    /// Whether the component exports `wasmesh:adapter/registry` (what it registers with the
    /// Meshery server).
    pub fn registrable(&self) -> bool {
        self.registry.is_some()
    }

    /// The kinds the plugin handles in designs, as it registers them with the Meshery server;
    /// none when it does not export the registry. `host` serves the call, which must not need
    /// the cluster.
    pub async fn design_kinds(&self, host: H) -> CallOutcome<Vec<registry::DesignKind>, H> {
        let Some(indices) = &self.registry else {
            return (Ok(Vec::new()), host);
        };
        let (mut store, instance) = match self.instantiate(host, "design-kinds").await {
            Ok(x) => x,
            Err((e, host)) => return (Err(e), host),
        };
        let r = match indices.load(&mut store, &instance) {
            Ok(g) => self.bounded(g.call_design_kinds(&mut store)).await,
            Err(e) => Err(e),
        };
        self.finish(store, "design-kinds", r)
    }

    /// The whole call, cluster reads included, within the call timeout: the epoch deadline only
    /// fires while guest code runs, not while the host awaits a slow API server for it.
    async fn bounded<R>(&self, call: impl Future<Output = wasmtime::Result<R>>) -> wasmtime::Result<R> {
        // A little grace, so a guest that loops is stopped by its epoch deadline first.
        let limit = self.limits.call_timeout + TICK * 10;
        match tokio::time::timeout(limit, call).await {
            Ok(r) => r,
            Err(_) => Err(Trap::Interrupt.into()),
        }
    }

    /// A fresh Store for one call: nothing granted, memory and time bounded.
    async fn instantiate(
        &self,
        host: H,
        call: &'static str,
    ) -> std::result::Result<(Store<StoreState<H>>, Instance), (Error, H)> {
        let slot = match self.share.enter() {
            Ok(slot) => slot,
            Err(reason) => {
                let plugin = self.name.clone();
                return Err((Error::Busy { plugin, call, reason }, host));
            }
        };
        let stdout = MemoryOutputPipe::new(OUTPUT_CAPACITY);
        let stderr = MemoryOutputPipe::new(OUTPUT_CAPACITY);
        // No env, args or network, and no preopen but the asset folder the operator granted this
        // plugin: the builder's defaults grant none of those except sockets, which are switched
        // off explicitly.
        let mut wasi = WasiCtxBuilder::new();
        wasi.stdout(stdout.clone())
            .stderr(stderr.clone())
            .allow_tcp(false)
            .allow_udp(false)
            .allow_ip_name_lookup(false);
        if let Some(dir) = &self.assets
            && let Err(e) = wasi.preopened_dir(dir, crate::assets::GUEST_PATH, FsPerms::ReadOnly)
        {
            let reason = format!("its asset folder {} cannot be opened: {e:#}", dir.display());
            let plugin = self.name.clone();
            return Err((Error::Instantiate { plugin, call, reason }, host));
        }
        let wasi = wasi.build();
        let mut table = ResourceTable::new();
        table.set_max_capacity(MAX_HOST_RESOURCES_PER_CALL);
        let state = StoreState {
            wasi,
            table,
            limits: StoreLimitsBuilder::new()
                .memory_size(self.limits.memory_limit)
                .instances(MAX_CORE_INSTANCES_PER_CALL as usize)
                .memories(MAX_MEMORIES_PER_CALL as usize)
                .tables(MAX_TABLES_PER_CALL as usize)
                .trap_on_grow_failure(true)
                .build(),
            _slot: slot,
            host,
            stdout,
            stderr,
            reports: 0,
        };
        let mut store = Store::new(self.pre.engine(), state);
        store.limiter(|s| &mut s.limits);
        // The one bound on what is lifted from this call (see `max_result_bytes`).
        store.set_hostcall_fuel(self.limits.max_result_bytes);
        let ticks = (self.limits.call_timeout.as_millis() / TICK.as_millis()).max(1) as u64;
        store.set_epoch_deadline(ticks);
        store.epoch_deadline_trap();
        match self.pre.instance_pre().instantiate_async(&mut store).await {
            Ok(instance) => Ok((store, instance)),
            Err(e) => {
                let err = self.classify(call, e, true, None);
                Err((err, store.into_data().host))
            }
        }
    }

    fn finish<R>(&self, store: Store<StoreState<H>>, call: &'static str, r: wasmtime::Result<R>) -> CallOutcome<R, H> {
        let state = store.into_data();
        log_output(&self.name, "stdout", &state.stdout);
        log_output(&self.name, "stderr", &state.stderr);
        let r = r.map_err(|e| {
            // A Rust guest prints its panic message to stderr before it traps: that line says
            // more than the trap itself.
            let said = last_line(&state.stderr);
            self.classify(call, e, false, said.as_deref())
        });
        (r, state.host)
    }

    fn classify(&self, call: &'static str, e: wasmtime::Error, instantiating: bool, guest_said: Option<&str>) -> Error {
        let plugin = self.name.clone();
        let text = format!("{e:#}");
        let root = e.root_cause().to_string();
        if e.downcast_ref::<Trap>() == Some(&Trap::Interrupt) {
            return Error::Timeout {
                plugin,
                call,
                limit_ms: self.limits.call_timeout.as_millis() as u64,
            };
        }
        // wasmtime's error for a lift over the fuel is a private type: its text is what there is.
        if text.contains("fuel allocated for hostcalls has been exhausted") {
            return Error::ResultTooLarge {
                plugin,
                call,
                limit_mib: self.limits.max_result_bytes >> 20,
            };
        }
        if text.contains("forcing trap when growing memory") {
            return Error::OutOfMemory {
                plugin,
                call,
                limit_mib: self.limits.memory_limit >> 20,
            };
        }
        if instantiating && e.downcast_ref::<wasmtime::PoolConcurrencyLimitError>().is_some() {
            Error::Busy {
                plugin,
                call,
                reason: root,
            }
        } else if instantiating {
            Error::Instantiate {
                plugin,
                call,
                reason: text,
            }
        } else {
            let reason = match guest_said {
                Some(said) => format!("{said} ({root})"),
                None => root,
            };
            Error::Trap { plugin, call, reason }
        }
    }
}

/// The last line the guest wrote before it stopped, without Rust's "note: run with
/// RUST_BACKTRACE" hint (the panic message comes just before it).
fn last_line(pipe: &MemoryOutputPipe) -> Option<String> {
    let bytes = pipe.contents();
    let text = String::from_utf8_lossy(&bytes);
    text.lines()
        .rev()
        .map(str::trim)
        .find(|l| !l.is_empty() && !l.starts_with("note: "))
        .map(|l| l.chars().take(500).collect())
}

fn log_output(plugin: &str, stream: &str, pipe: &MemoryOutputPipe) {
    let bytes = pipe.contents();
    if bytes.is_empty() {
        return;
    }
    for line in String::from_utf8_lossy(&bytes).lines() {
        tracing::info!(target: "wasmesh::plugin", plugin, stream, "{line}");
    }
}
