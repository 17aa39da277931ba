//! The plugin instance pool is shared by every plugin: one plugin cannot take it all, neither
//! with a component that instantiates many core modules or memories (refused at load) nor with
//! a flood of calls (each plugin has its share of the slots; a call beyond it is Busy).

use std::path::PathBuf;
use std::time::Duration;

use wasmesh::config::PluginConfig;
use wasmesh_e2e::meshery::{ERROR, Generation, INFO};
use wasmesh_e2e::{Events, HOSTILE_WASM, TestCluster, cache_dir, client, configmap, request, test_config};
use wasmesh_runtime::{MAX_CORE_INSTANCES_PER_CALL, MAX_MEMORIES_PER_CALL, RuntimeConfig};
use wasmesh_test_apiserver::ApiServer;

/// The hostile translator with `modules` more core modules appended to its component, each
/// with `memories` linear memories (0 or 1) and each instantiated once: still a valid
/// translator, but one call of it would take that many more instances and memories from the
/// pool.
fn fattened(modules: u32, memories: u32) -> Vec<u8> {
    let mut wasm = std::fs::read(HOSTILE_WASM).unwrap();
    // The new modules' indices follow the component's own top-level core modules.
    let own = top_level_core_modules(&wasm);
    let module = wat::parse_str(if memories == 1 {
        "(module (memory 1))"
    } else {
        "(module)"
    })
    .unwrap();
    // Each module is its own section (id 1: core module).
    for _ in 0..modules {
        wasm.push(1);
        leb(&mut wasm, module.len() as u32);
        wasm.extend_from_slice(&module);
    }
    // One core instance section (id 2): `(instantiate <index>)` with no arguments, per module.
    let mut instances = Vec::new();
    leb(&mut instances, modules);
    for i in 0..modules {
        instances.push(0x00);
        leb(&mut instances, own + i);
        leb(&mut instances, 0);
    }
    wasm.push(2);
    leb(&mut wasm, instances.len() as u32);
    wasm.extend_from_slice(&instances);
    wasmparser::Validator::new_with_features(wasmparser::WasmFeatures::all())
        .validate_all(&wasm)
        .expect("the fattened component is valid");
    wasm
}

fn top_level_core_modules(wasm: &[u8]) -> u32 {
    let mut depth = 0;
    let mut count = 0;
    for payload in wasmparser::Parser::new(0).parse_all(wasm) {
        match payload.unwrap() {
            wasmparser::Payload::Version { .. } => depth += 1,
            wasmparser::Payload::End(_) => depth -= 1,
            wasmparser::Payload::ModuleSection { .. } if depth == 1 => count += 1,
            wasmparser::Payload::ComponentAliasSection(aliases) if depth == 1 => {
                for a in aliases {
                    if let wasmparser::ComponentAlias::Outer {
                        kind: wasmparser::ComponentOuterAliasKind::CoreModule,
                        ..
                    } = a.unwrap()
                    {
                        count += 1;
                    }
                }
            }
            _ => {}
        }
    }
    count
}

fn leb(out: &mut Vec<u8>, mut v: u32) {
    loop {
        let byte = (v & 0x7f) as u8;
        v >>= 7;
        if v == 0 {
            out.push(byte);
            return;
        }
        out.push(byte | 0x80);
    }
}

fn scratch(name: &str) -> PathBuf {
    let dir = cache_dir()
        .join("..")
        .join(format!("scratch-{name}-{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn plugin(name: &str, path: PathBuf) -> PluginConfig {
    PluginConfig::file(name, Some(path), 0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn components_that_would_take_many_slots_are_refused_at_load() {
    let dir = scratch("fat");
    // Far more core instances than a call may take, and (within that) more memories.
    std::fs::write(dir.join("modules.wasm"), fattened(200, 0)).unwrap();
    std::fs::write(dir.join("memories.wasm"), fattened(MAX_MEMORIES_PER_CALL + 1, 1)).unwrap();
    let mut config = test_config();
    config.plugins.push(plugin("many-modules", dir.join("modules.wasm")));
    config.plugins.push(plugin("many-memories", dir.join("memories.wasm")));
    let host = wasmesh::start(config).await.expect("the host starts with the others");

    let reason = |name: &str| {
        host.skipped
            .iter()
            .find(|s| s.plugin == name)
            .unwrap_or_else(|| panic!("{name} should be refused; skipped: {:?}", host.skipped))
            .reason
            .clone()
    };
    let r = reason("many-modules");
    assert!(
        r.contains("plugin many-modules needs more than one plugin call may take")
            && r.contains(&format!(
                "exceeds the configured maximum of {MAX_CORE_INSTANCES_PER_CALL}"
            )),
        "{r}"
    );
    let r = reason("many-memories");
    assert!(
        r.contains("plugin many-memories needs more than one plugin call may take")
            && r.contains(&format!(
                "linear memories, which exceeds the configured maximum of {MAX_MEMORIES_PER_CALL}"
            )),
        "{r}"
    );
    assert_eq!(host.skipped.len(), 2, "{:?}", host.skipped);
    // The plugins within the limits serve.
    for adapter in ["ISTIO", "LINKERD", "HOSTILE"] {
        assert_eq!(
            client(&host, adapter, Generation::Adapter).await.name().await.unwrap(),
            adapter
        );
    }
    host.shutdown().await;
    std::fs::remove_dir_all(dir).unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_flood_of_calls_to_one_plugin_leaves_the_others_their_share() {
    let cluster = TestCluster::start().await;
    let ns = cluster.namespace("pool").await;
    // The flood's reads go to an API server that answers only after the test: each flooding
    // call holds its instance slot until then.
    let stuck = ApiServer::start();
    stuck.set_delay(Duration::from_secs(600));
    let mut config = test_config();
    // Longer than the test: the held calls end when `stuck` goes away.
    config.limits.call_timeout_ms = 600_000;
    let host = wasmesh::start(config).await.unwrap();
    let hostile = client(&host, "HOSTILE", Generation::Adapter).await;
    let events = Events::subscribe(&hostile).await;

    // More calls than the whole pool has slots.
    let slots = RuntimeConfig::default().max_instances as usize;
    let flood: Vec<_> = (0..slots + 8)
        .map(|_| request("hold-slot", ns.name(), "", &[stuck.kubeconfig()]))
        .collect();
    futures::future::join_all(flood.iter().map(|r| {
        let mut c = hostile.clone();
        let r = r.clone();
        async move { c.apply(r).await.expect("ApplyOperation") }
    }))
    .await;
    // Each flooding call now holds a slot (it said so) or was refused as busy.
    let mut held = 0;
    let mut busy = Vec::new();
    for r in &flood {
        let e = events
            .wait_for("a slot held or refused", |e| {
                e.operation_id == r.operation_id && (e.summary == "holding a slot" || e.event_type == ERROR)
            })
            .await;
        if e.event_type == ERROR {
            busy.push(e);
        } else {
            held += 1;
        }
    }
    assert!(!busy.is_empty(), "some of the flood is refused");
    for e in &busy {
        assert_eq!(e.error_code, "WASMESH-RUNTIME-1005", "{e:#?}");
        assert!(e.summary.contains("plugin hostile: plan could not start"), "{e:#?}");
    }
    // Another plugin still gets a slot, runs and writes.
    let mut linkerd = client(&host, "LINKERD", Generation::Adapter).await;
    let linkerd_events = Events::subscribe(&linkerd).await;
    let body = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: during-flood\n";
    let req = request("custom", ns.name(), body, &[cluster.kubeconfig()]);
    linkerd.apply(req.clone()).await.unwrap();
    let e = linkerd_events.outcome(&req.operation_id).await;
    assert_eq!(e.event_type, INFO, "{e:#?}");
    assert!(configmap(&cluster, ns.name(), "during-flood").await.is_some());

    // The flood was cut at its share of the pool, not at the pool's end.
    assert!(
        busy.iter()
            .any(|e| e.summary.contains(&format!("its share of the {slots} instance slots"))),
        "{busy:#?}"
    );
    assert!(held < slots, "the flood holds {held} of {slots} slots");

    // The held calls end (their cluster goes away), and the slots come back.
    drop(stuck);
    for r in &flood {
        events.outcome(&r.operation_id).await;
    }
    let req = request(
        "custom",
        ns.name(),
        body.replace("during", "after").as_str(),
        &[cluster.kubeconfig()],
    );
    let mut hostile = hostile;
    hostile.apply(req.clone()).await.unwrap();
    let e = events.outcome(&req.operation_id).await;
    assert_eq!(e.event_type, INFO, "{e:#?}");
    host.shutdown().await;
}
