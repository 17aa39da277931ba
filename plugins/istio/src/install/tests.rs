use std::collections::HashSet;

use serde_json::Value;

use super::*;

fn options(profile: Profile) -> Options {
    Options {
        release: release::default_release(),
        profile,
        wait_seconds: options::DEFAULT_WAIT_SECONDS,
        autoscale: true,
        hub: None,
    }
}

fn applied(plan: &Plan) -> Vec<Value> {
    plan.stages
        .iter()
        .flat_map(|s| &s.steps)
        .filter_map(|s| match s {
            Step::Apply(json) => Some(serde_json::from_str(json).unwrap()),
            _ => None,
        })
        .collect()
}

fn key(kind: &str, name: &str) -> String {
    format!("{kind}/{name}")
}

fn keys(objects: &[Value]) -> HashSet<String> {
    objects
        .iter()
        .map(|o| key(o["kind"].as_str().unwrap(), o["metadata"]["name"].as_str().unwrap()))
        .collect()
}

fn find<'a>(objects: &'a [Value], kind: &str, name: &str) -> &'a Value {
    objects
        .iter()
        .find(|o| o["kind"] == kind && o["metadata"]["name"] == name)
        .unwrap_or_else(|| panic!("{kind} {name} missing"))
}

#[test]
fn default_profile_installs_istiod_and_the_ingress_gateway() {
    let plan = build(&options(Profile::Default), false);
    let names: Vec<&str> = plan.stages.iter().map(|s| s.name.as_str()).collect();
    assert_eq!(
        names,
        [
            "namespace and CRDs",
            "CRDs established",
            "control plane",
            "gateways",
            "other profiles' objects",
            "availability"
        ]
    );
    let objects = applied(&plan);
    let k = keys(&objects);
    for expected in [
        "Namespace/istio-system",
        "ServiceAccount/istiod",
        "ConfigMap/istio",
        "ConfigMap/istio-sidecar-injector",
        "ClusterRole/istiod-clusterrole-istio-system",
        "ClusterRoleBinding/istiod-gateway-controller-istio-system",
        "Role/istiod",
        "RoleBinding/istiod",
        "Service/istiod",
        "Deployment/istiod",
        "PodDisruptionBudget/istiod",
        "HorizontalPodAutoscaler/istiod",
        "MutatingWebhookConfiguration/istio-sidecar-injector",
        "ValidatingWebhookConfiguration/istio-validator-istio-system",
        "Deployment/istio-ingressgateway",
        "Service/istio-ingressgateway",
        "HorizontalPodAutoscaler/istio-ingressgateway",
    ] {
        assert!(k.contains(expected), "{expected} missing");
    }
    assert!(!k.contains("Deployment/istio-egressgateway"));
    assert!(!k.contains("DaemonSet/ztunnel"));

    let crds: Vec<&Value> = objects
        .iter()
        .filter(|o| o["kind"] == "CustomResourceDefinition")
        .collect();
    assert_eq!(crds.len(), 14);
    let istiod = find(&objects, "Deployment", "istiod");
    let c = &istiod["spec"]["template"]["spec"]["containers"][0];
    assert_eq!(c["image"], "docker.io/istio/pilot:1.27.3");
    assert_eq!(istiod["metadata"]["labels"]["app.kubernetes.io/version"], "1.27.3");
    assert_eq!(istiod["metadata"]["annotations"]["wasmesh.io/istio-profile"], "default");
    assert!(istiod["spec"].get("replicas").is_none(), "the autoscaler owns replicas");
    assert_eq!(crate::installed::read(istiod).unwrap().profile, "default");

    let svc = find(&objects, "Service", "istiod");
    let ports: Vec<(i64, i64)> = svc["spec"]["ports"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            (
                p["port"].as_i64().unwrap(),
                p["targetPort"].as_i64().unwrap_or(p["port"].as_i64().unwrap()),
            )
        })
        .collect();
    assert_eq!(ports, [(15010, 15010), (15012, 15012), (443, 15017), (15014, 15014)]);
    assert_eq!(
        find(&objects, "Service", "istio-ingressgateway")["spec"]["type"],
        "LoadBalancer"
    );
}

#[test]
fn the_injector_config_carries_a_real_sidecar_template() {
    let objects = applied(&build(&options(Profile::Default), false));
    let cm = find(&objects, "ConfigMap", "istio-sidecar-injector");
    let config = cm["data"]["config"].as_str().unwrap();
    assert!(config.starts_with("defaultTemplates: [sidecar]\n"));
    for needle in [
        "  sidecar: |\n",
        "- name: istio-proxy",
        "istio-iptables",
        "\"15001\"",
        "\"15006\"",
        "containerPort: 15090",
        "port: 15021",
        "istio-validation{{ else }}istio-init",
        "{{ .ProxyImage | quote }}",
        // Per-pod outbound port exclusions reach istio-iptables, as upstream's template passes them.
        "traffic.sidecar.istio.io/excludeOutboundPorts` | quote }}",
    ] {
        assert!(config.contains(needle), "{needle:?} missing");
    }
    // Every volume the proxy mounts is declared by the template.
    for volume in [
        "istio-envoy",
        "istio-data",
        "istio-podinfo",
        "istio-token",
        "istiod-ca-cert",
        "workload-socket",
        "credential-socket",
        "workload-certs",
    ] {
        assert!(
            config.contains(&format!("{{name: {volume}, mountPath: ")),
            "{volume} not mounted"
        );
        assert!(
            config.contains(&format!("- {{name: {volume}, "))
                && config.matches(&format!("name: {volume}")).count() >= 2
                || config.contains(&format!("- name: {volume}\n")),
            "{volume} not declared"
        );
    }
    // Every template line is indented under the block scalar.
    let template = config.split("  sidecar: |\n").nth(1).unwrap();
    assert!(template.lines().all(|l| l.is_empty() || l.starts_with("    ")));
    let values: Value = serde_json::from_str(cm["data"]["values"].as_str().unwrap()).unwrap();
    assert_eq!(values["global"]["hub"], "docker.io/istio");
    assert_eq!(values["global"]["tag"], "1.27.3");
    assert_eq!(values["istio_cni"]["enabled"], false);
}

#[test]
fn ambient_adds_cni_and_ztunnel_and_configures_istiod() {
    let plan = build(&options(Profile::Ambient), false);
    let objects = applied(&plan);
    let k = keys(&objects);
    for expected in [
        "DaemonSet/istio-cni-node",
        "ConfigMap/istio-cni-config",
        "ClusterRole/istio-cni",
        "ClusterRoleBinding/istio-cni-repair-rolebinding",
        "DaemonSet/ztunnel",
        "ServiceAccount/ztunnel",
        "MutatingWebhookConfiguration/istio-sidecar-injector",
    ] {
        assert!(k.contains(expected), "{expected} missing");
    }
    assert!(
        !k.iter()
            .any(|k| k.contains("gateway/") || k.ends_with("ingressgateway"))
    );
    let env = &find(&objects, "Deployment", "istiod")["spec"]["template"]["spec"]["containers"][0]["env"];
    assert!(
        env.as_array()
            .unwrap()
            .iter()
            .any(|e| e["name"] == "PILOT_ENABLE_AMBIENT" && e["value"] == "true")
    );
    let zt = find(&objects, "DaemonSet", "ztunnel");
    assert_eq!(
        zt["spec"]["template"]["spec"]["containers"][0]["image"],
        "docker.io/istio/ztunnel:1.27.3"
    );
    let cni = find(&objects, "DaemonSet", "istio-cni-node");
    assert_eq!(
        cni["spec"]["template"]["spec"]["containers"][0]["image"],
        "docker.io/istio/install-cni:1.27.3"
    );
    let values = find(&objects, "ConfigMap", "istio-sidecar-injector")["data"]["values"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(
        values.contains("\"istio_cni\": {\n    \"chained\": true,\n    \"enabled\": true"),
        "{values}"
    );
    let waits: Vec<String> = plan
        .stages
        .last()
        .unwrap()
        .steps
        .iter()
        .filter_map(|s| match s {
            Step::Wait(w) => Some(format!("{}/{}", w.target.kind, w.target.name)),
            _ => None,
        })
        .collect();
    assert_eq!(
        waits,
        ["Deployment/istiod", "DaemonSet/istio-cni-node", "DaemonSet/ztunnel"]
    );
}

#[test]
fn minimal_and_demo_choose_their_gateways() {
    let minimal = keys(&applied(&build(&options(Profile::Minimal), false)));
    assert!(
        !minimal
            .iter()
            .any(|k| k.contains("ingressgateway") || k.contains("egressgateway"))
    );
    let demo = applied(&build(&options(Profile::Demo), false));
    let k = keys(&demo);
    assert!(k.contains("Deployment/istio-ingressgateway") && k.contains("Deployment/istio-egressgateway"));
    assert_eq!(
        find(&demo, "Service", "istio-egressgateway")["spec"]["type"],
        "ClusterIP"
    );
    assert!(
        find(&demo, "ConfigMap", "istio")["data"]["mesh"]
            .as_str()
            .unwrap()
            .contains("accessLogFile: /dev/stdout")
    );
}

#[test]
fn second_release_tags_every_image_and_options_shape_the_plan() {
    let mut o = options(Profile::Ambient);
    o.release = release::find("1.26.3").unwrap();
    o.autoscale = false;
    o.wait_seconds = 0;
    let plan = build(&o, false);
    assert_ne!(plan.stages.last().unwrap().name, "availability");
    let objects = applied(&plan);
    let text = serde_json::to_string(&objects).unwrap();
    for image in ["pilot", "install-cni", "ztunnel"] {
        assert!(text.contains(&format!("docker.io/istio/{image}:1.26.3")), "{image}");
    }
    assert!(!text.contains("1.27.3"));
    assert!(!keys(&objects).iter().any(|k| k.starts_with("HorizontalPodAutoscaler/")));
    assert_eq!(find(&objects, "Deployment", "istiod")["spec"]["replicas"], 1);
}

#[test]
fn uninstall_deletes_everything_any_profile_applies_namespace_then_crds_last() {
    let plan = build(&options(Profile::Default), true);
    let deleted: Vec<String> = plan
        .stages
        .iter()
        .flat_map(|s| &s.steps)
        .map(|s| match s {
            Step::Delete(r) => key(&r.kind, &r.name),
            other => panic!("only deletes expected: {other:?}"),
        })
        .collect();
    let set: HashSet<String> = deleted.iter().cloned().collect();
    assert_eq!(set.len(), deleted.len(), "no object deleted twice");
    for profile in [Profile::Default, Profile::Minimal, Profile::Demo, Profile::Ambient] {
        for k in keys(&applied(&build(&options(profile), false))) {
            assert!(set.contains(&k), "{k} of {profile:?} is not deleted");
        }
    }
    let names: Vec<&str> = plan.stages.iter().map(|s| s.name.as_str()).collect();
    assert_eq!(names.first(), Some(&"gateways"));
    assert_eq!(&names[names.len() - 2..], ["namespace", "CRDs"]);
    // The fail-closed injector webhook never outlives istiod.
    let at = |n: &str| names.iter().position(|s| *s == n).unwrap();
    assert!(at("webhooks") < at("istiod"), "{names:?}");
    let mut expected = crds::names();
    expected.sort();
    let mut last: Vec<String> = plan
        .stages
        .last()
        .unwrap()
        .steps
        .iter()
        .map(|s| match s {
            Step::Delete(r) => r.name.clone(),
            _ => unreachable!(),
        })
        .collect();
    last.sort();
    assert_eq!(last, expected);
}

#[test]
fn crds_are_structural_and_serve_upstreams_versions() {
    let cx = Context::from(&options(Profile::Default));
    let crds = crds::objects(&cx);
    let served = |name: &str| -> Vec<(String, bool)> {
        let crd = crds.iter().find(|c| c["metadata"]["name"] == name).unwrap();
        crd["spec"]["versions"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| (v["name"].as_str().unwrap().to_string(), v["storage"].as_bool().unwrap()))
            .collect()
    };
    let v = |xs: &[(&str, bool)]| xs.iter().map(|(n, s)| (n.to_string(), *s)).collect::<Vec<_>>();
    assert_eq!(
        served("virtualservices.networking.istio.io"),
        v(&[("v1alpha3", true), ("v1beta1", false), ("v1", false)])
    );
    assert_eq!(served("envoyfilters.networking.istio.io"), v(&[("v1alpha3", true)]));
    assert_eq!(served("proxyconfigs.networking.istio.io"), v(&[("v1beta1", true)]));
    assert_eq!(
        served("authorizationpolicies.security.istio.io"),
        v(&[("v1beta1", true), ("v1", false)])
    );
    assert_eq!(
        served("telemetries.telemetry.istio.io"),
        v(&[("v1alpha1", true), ("v1", false)])
    );
    assert_eq!(served("wasmplugins.extensions.istio.io"), v(&[("v1alpha1", true)]));
    for crd in &crds {
        for version in crd["spec"]["versions"].as_array().unwrap() {
            assert_eq!(version["subresources"]["status"], serde_json::json!({}));
            let schema = &version["schema"]["openAPIV3Schema"];
            assert_eq!(schema["type"], "object");
            check_structural(schema, crd["metadata"]["name"].as_str().unwrap());
        }
    }
}

/// Every schema node has a type unless it keeps unknown fields.
fn check_structural(node: &Value, at: &str) {
    let preserve = node["x-kubernetes-preserve-unknown-fields"] == true;
    assert!(node.get("type").is_some() || preserve, "{at}: node without type");
    if let Some(props) = node["properties"].as_object() {
        for (k, v) in props {
            check_structural(v, &format!("{at}.{k}"));
        }
    }
    if let Some(items) = node.get("items") {
        check_structural(items, &format!("{at}[]"));
    }
}

#[test]
fn the_default_plan_stays_small() {
    let plan = build(&options(Profile::Default), false);
    let bytes: usize = plan
        .stages
        .iter()
        .flat_map(|s| &s.steps)
        .map(|s| match s {
            Step::Apply(j) => j.len(),
            _ => 0,
        })
        .sum();
    println!("default install: {bytes} bytes of objects");
    assert!(bytes < 1 << 20, "{bytes}");
}

#[test]
fn plan_reads_the_request_outside_the_sandbox_too() {
    // The design module calls plan() with a JSON body; natively there is no host to ask.
    let request = OperationRequest {
        key: "istio".into(),
        namespace: "default".into(),
        version: String::new(),
        custom_body: r#"{"version": "1.26.3", "profile": "ambient"}"#.into(),
        delete: false,
        operation_id: "op".into(),
        username: "u".into(),
        cluster: wasmesh_sdk::ClusterInfo {
            name: "c".into(),
            server: "s".into(),
        },
    };
    let p = plan(&request).unwrap();
    assert_eq!(
        p.summary,
        "Istio 1.26.3 installed with the ambient profile in istio-system"
    );
    let mut delete = request.clone();
    delete.delete = true;
    assert!(plan(&delete).unwrap().summary.contains("removed"));
}

fn deleted(plan: &Plan) -> HashSet<String> {
    plan.stages
        .iter()
        .flat_map(|s| &s.steps)
        .filter_map(|s| match s {
            Step::Delete(r) => Some(key(&r.kind, &r.name)),
            _ => None,
        })
        .collect()
}

#[test]
fn a_reinstall_with_another_profile_removes_what_only_the_old_one_made() {
    for profile in [Profile::Default, Profile::Minimal, Profile::Demo, Profile::Ambient] {
        let plan = build(&options(profile), false);
        let (applied, deleted) = (keys(&applied(&plan)), deleted(&plan));
        assert!(
            applied.is_disjoint(&deleted),
            "{profile:?} deletes what it applies: {:?}",
            applied.intersection(&deleted).collect::<Vec<_>>()
        );
        let everything = keys(&every_profiles_objects());
        for k in &everything {
            assert!(
                applied.contains(k) || deleted.contains(k),
                "{profile:?} leaves {k} of another profile"
            );
        }
    }
    let minimal = deleted(&build(&options(Profile::Minimal), false));
    for k in [
        key("Deployment", "istio-ingressgateway"),
        key("DaemonSet", "ztunnel"),
        key("DaemonSet", "istio-cni-node"),
    ] {
        assert!(minimal.contains(&k), "minimal removes {k}");
    }
    let ambient = deleted(&build(&options(Profile::Ambient), false));
    assert!(ambient.contains(&key("Deployment", "istio-egressgateway")));
    assert!(!ambient.contains(&key("DaemonSet", "ztunnel")));
    let mut no_hpa = options(Profile::Default);
    no_hpa.autoscale = false;
    assert!(
        deleted(&build(&no_hpa, false)).contains(&key("HorizontalPodAutoscaler", "istiod")),
        "turning autoscaling off removes the autoscalers"
    );
}
