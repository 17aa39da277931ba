//! `linkerd`: install the Linkerd control plane (CRDs, then identity, destination with the
//! policy controller and sp-validator, and the proxy injector in namespace `linkerd`), or with
//! delete_op uninstall it, as `linkerd install` / `linkerd uninstall` would.
//!
//! The custom body holds install options (see [`options`]); it is YAML or JSON, so the design
//! module can pass a LinkerdMesh component's settings as JSON. Everything installed is built into
//! the component: nothing is fetched at run time.
//!
//! Identity: a new trust anchor (3650 days: replacing an anchor means re-issuing every proxy's
//! trust bundle, so it should outlive the cluster; Linkerd's docs use 10 years too) and a separate
//! issuer (365 days: proxies get 24 h certificates from it, and `rotate-identity-issuer` renews
//! it well before that). A re-install or upgrade keeps the trust roots and issuer already in the
//! cluster, so running proxies keep trusting the control plane; it also keeps the webhook
//! certificates while they have more than 30 days left.

mod certs;
mod control_plane;
mod crds;
pub(crate) mod options;
mod rendered;
mod versions;

use serde_json::Value;
use wasmesh_sdk::plan::{apply, object_ref, plan as make_plan, stage};
use wasmesh_sdk::progress::report;
use wasmesh_sdk::{Condition, Error, Level, ObjectRef, OperationRequest, Plan, Step, WaitFor};

use crate::errors::LinkerdError;
use control_plane::{Context, Identity, Webhooks};
use versions::Release;

/// The control plane's namespace.
pub const NAMESPACE: &str = crate::installed::CONTROL_PLANE_NAMESPACE;
/// Label of namespaces that hold Linkerd extensions (viz, jaeger, multicluster, ...).
pub const EXTENSION_LABEL: &str = "linkerd.io/extension";
/// Trust anchor and issuer lifetimes of a fresh install (see the module comment).
pub const ANCHOR_DAYS: u32 = 3650;
pub const ISSUER_DAYS: u32 = 365;
/// Seconds a CRD gets to become Established.
const CRD_TIMEOUT: u32 = 60;

/// The embedded releases, then the versions the operator's asset folder holds.
pub fn versions() -> Vec<String> {
    let mut names = versions::names();
    names.extend(rendered::versions());
    names
}

/// The CRDs the install of `version` (a release name or alias) writes, by name, from the same
/// lists the install applies: (Linkerd's own, the Gateway API CRDs it ships and skips when
/// another project installed them). None for a version this adapter does not install.
pub fn crd_names(version: &str) -> Option<(Vec<String>, Vec<String>)> {
    if version.trim().is_empty() {
        return None;
    }
    let release = versions::resolve(version).ok()?;
    let names = |crds: Vec<Value>| -> Vec<String> {
        crds.iter()
            .filter_map(|c| c.pointer("/metadata/name").and_then(Value::as_str).map(str::to_string))
            .collect()
    };
    Some((names(crds::linkerd_crds(release)), names(crds::gateway_crds(release))))
}

/// The CRDs the default release installs (Linkerd's own and the Gateway API's), whose schemas the
/// plugin registers with the Meshery server.
pub fn default_crds() -> Vec<Value> {
    let release = versions::default_release();
    let mut crds = crds::linkerd_crds(release);
    crds.extend(crds::gateway_crds(release));
    crds
}

pub fn plan(request: &OperationRequest) -> Result<Plan, Error> {
    let options = options::parse(&request.custom_body)?;
    // A version this translator does not embed may be in the operator's asset folder.
    let release = versions::resolve(&request.version);
    if let Err(unknown) = &release {
        return match rendered::objects(&request.version)? {
            Some(objects) if request.delete => rendered::uninstall(request.version.trim(), objects, &options),
            Some(objects) => rendered::install(request.version.trim(), objects, &options),
            None if request.delete => uninstall(&options),
            None => Err(unknown.clone()),
        };
    }
    if request.delete {
        return uninstall(&options);
    }
    install(release?, &options)
}

/// The `linkerd.io/created-by` annotation on what this translator installs; its last word is
/// the release, which [`crate::installed::control_plane`] reads back.
pub fn created_by(release: &Release) -> String {
    format!("wasmesh/linkerd-{} {}", env!("CARGO_PKG_VERSION"), release.name)
}

pub(crate) fn now_unix() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or_default()
}

fn install(release: &'static Release, options: &options::Options) -> Result<Plan, Error> {
    let now = now_unix();
    let (identity, kept_identity) = identity(options, now)?;
    let webhooks = Webhooks {
        proxy_injector: webhook_tls(0, "linkerd-proxy-injector", now)?,
        sp_validator: webhook_tls(1, "linkerd-sp-validator", now)?,
        policy_validator: webhook_tls(2, "linkerd-policy-validator", now)?,
    };
    let ctx = Context {
        release,
        options,
        identity,
        webhooks,
    };

    let mut crds = crds::linkerd_crds(release);
    crds.extend(without_foreign_gateway_crds(crds::gateway_crds(release))?);

    let mut foundation = vec![apply(&control_plane::namespace(&ctx))];
    foundation.extend(crds.iter().map(apply));
    let established = crds
        .iter()
        .map(|c| {
            wait(
                object_ref(c),
                Condition::ConditionTrue("Established".into()),
                CRD_TIMEOUT,
                true,
            )
        })
        .collect();
    let (config, workloads) = control_plane::objects(&ctx);
    let available = control_plane::DEPLOYMENTS
        .iter()
        .map(|name| {
            wait(
                ObjectRef {
                    api_version: "apps/v1".into(),
                    kind: "Deployment".into(),
                    namespace: Some(NAMESPACE.into()),
                    name: (*name).into(),
                },
                Condition::ConditionTrue("Available".into()),
                options.wait_seconds,
                false,
            )
        })
        .collect();
    let summary = format!(
        "Linkerd {} control plane installed in namespace {NAMESPACE}{}",
        release.name,
        if kept_identity {
            " (existing trust anchor and issuer kept)"
        } else {
            ""
        }
    );
    Ok(make_plan(
        summary,
        vec![
            stage("namespace and CRDs", foundation),
            stage("CRDs established", established),
            stage(
                "control plane configuration and RBAC",
                config.iter().map(apply).collect(),
            ),
            stage(
                "control plane workloads and webhooks",
                workloads.iter().map(apply).collect(),
            ),
            stage("control plane available", available),
        ],
    ))
}

/// `objects` without the Gateway API CRDs another project installed (they exist without Linkerd's
/// label): this translator neither changes nor removes those.
pub(crate) fn without_foreign_gateway_crds(objects: Vec<Value>) -> Result<Vec<Value>, Error> {
    let mut kept = Vec::with_capacity(objects.len());
    for o in objects {
        let name = o["metadata"]["name"].as_str().unwrap_or_default().to_string();
        if o["kind"] == "CustomResourceDefinition"
            && name.ends_with(".gateway.networking.k8s.io")
            && let Some(existing) =
                wasmesh_sdk::cluster::get("apiextensions.k8s.io/v1", "CustomResourceDefinition", None, &name)?
            && !is_ours(&existing)
        {
            report(
                Level::Info,
                &format!("Gateway API CRD {name} already installed: kept as it is"),
                "the CRD exists without Linkerd's label (another project installed it), so this \
                 install neither changes it nor removes it on uninstall",
            );
            continue;
        }
        kept.push(o);
    }
    Ok(kept)
}

pub(crate) fn wait(target: ObjectRef, condition: Condition, timeout_seconds: u32, required: bool) -> Step {
    Step::Wait(WaitFor {
        target,
        condition,
        timeout_seconds,
        required,
    })
}

fn is_ours(object: &Value) -> bool {
    object
        .pointer("/metadata/labels")
        .and_then(|l| l.get(crds::CONTROL_PLANE_NS_LABEL))
        .and_then(Value::as_str)
        == Some(NAMESPACE)
}

fn data<'a>(object: &'a Option<Value>, key: &str) -> Option<&'a str> {
    object
        .as_ref()?
        .get("data")?
        .get(key)?
        .as_str()
        .filter(|s| !s.trim().is_empty())
}

/// The identity in the cluster when there is one (kept), else a new trust anchor and issuer.
pub(crate) fn identity(options: &options::Options, now: u64) -> Result<(Identity, bool), Error> {
    let get = |kind: &str, name: &str| wasmesh_sdk::cluster::get("v1", kind, Some(NAMESPACE), name);
    let roots = get("ConfigMap", "linkerd-identity-trust-roots")?;
    let issuer = get("Secret", "linkerd-identity-issuer")?;
    let anchors = data(&roots, "ca-bundle.crt");
    let crt = data(&issuer, "crt.pem");
    let key = data(&issuer, "key.pem");
    match (anchors, crt, key, roots.is_some() || issuer.is_some()) {
        (None, None, None, false) => {
            let b = crate::identity::generate(&options.trust_domain, now, ANCHOR_DAYS, ISSUER_DAYS)?;
            Ok((
                Identity {
                    trust_anchors_pem: b.trust_anchor_pem,
                    issuer_crt_b64: certs::encode(b.issuer_cert_pem.as_bytes()),
                    issuer_key_b64: certs::encode(b.issuer_key_pem.as_bytes()),
                },
                false,
            ))
        }
        (Some(anchors), Some(crt), Some(key), _) => {
            let expected = format!("CN=identity.linkerd.{}", options.trust_domain);
            if let Some(subject) = certs::decode(crt)
                .and_then(|pem| <x509_cert::Certificate as x509_cert::der::DecodePem>::from_pem(pem).ok())
                .map(|c| c.tbs_certificate.subject.to_string())
                && subject != expected
            {
                return Err(LinkerdError::OtherTrustDomain {
                    subject,
                    asked: options.trust_domain.clone(),
                }
                .into());
            }
            Ok((
                Identity {
                    trust_anchors_pem: anchors.to_string(),
                    issuer_crt_b64: crt.to_string(),
                    issuer_key_b64: key.to_string(),
                },
                true,
            ))
        }
        _ => Err(LinkerdError::IdentityIncomplete {
            anchors: present(anchors),
            crt: present(crt),
            key: present(key),
        }
        .into()),
    }
}

fn present(v: Option<&str>) -> &'static str {
    if v.is_some() { "present" } else { "missing" }
}

/// The webhook's TLS in the cluster while still good, else a new CA and serving certificate.
pub(crate) fn webhook_tls(index: usize, service: &str, now: u64) -> Result<certs::WebhookTls, Error> {
    let (secret_name, kind, config_name) = control_plane::WEBHOOK_SECRETS[index];
    let secret = wasmesh_sdk::cluster::get("v1", "Secret", Some(NAMESPACE), secret_name)?;
    if let (Some(crt), Some(key)) = (data(&secret, "tls.crt"), data(&secret, "tls.key"))
        && certs::still_good(crt, now)
        && let Some(config) = wasmesh_sdk::cluster::get("admissionregistration.k8s.io/v1", kind, None, config_name)?
        && let Some(ca) = config
            .pointer("/webhooks/0/clientConfig/caBundle")
            .and_then(Value::as_str)
        && certs::still_good(ca, now)
    {
        return Ok(certs::WebhookTls {
            tls_crt_b64: crt.into(),
            tls_key_b64: key.into(),
            ca_bundle_b64: ca.into(),
        });
    }
    certs::generate(&format!("{service}.{NAMESPACE}.svc"), now)
}

/// "namespace (extension)" of each extension namespace among `namespaces` (labelled with
/// EXTENSION_LABEL). A namespace being deleted is an extension going away (its removal has run),
/// not one still installed.
fn installed_extensions(namespaces: &[Value]) -> Vec<String> {
    namespaces
        .iter()
        .filter(|ns| !crate::check::being_deleted(ns))
        .filter_map(|ns| {
            let name = ns.pointer("/metadata/name")?.as_str()?;
            let ext = ns
                .pointer("/metadata/labels")?
                .get(EXTENSION_LABEL)?
                .as_str()
                .unwrap_or_default();
            (name != NAMESPACE).then(|| format!("{name} ({ext})"))
        })
        .collect()
}

/// An uninstall is refused while an extension is installed: it runs on the control plane.
pub(crate) fn refuse_with_extensions() -> Result<(), Error> {
    let extensions = installed_extensions(&wasmesh_sdk::cluster::list("v1", "Namespace", None, EXTENSION_LABEL)?);
    if !extensions.is_empty() {
        return Err(LinkerdError::ExtensionsInstalled {
            namespaces: extensions.join(", "),
        }
        .into());
    }
    Ok(())
}

fn uninstall(options: &options::Options) -> Result<Plan, Error> {
    refuse_with_extensions()?;

    // Every object any release installs (the newest release's set is the superset), as refs.
    let release = versions::RELEASES
        .iter()
        .max_by_key(|r| r.generation)
        .unwrap_or(versions::default_release());
    let placeholder = certs::WebhookTls {
        tls_crt_b64: String::new(),
        tls_key_b64: String::new(),
        ca_bundle_b64: String::new(),
    };
    let ctx = Context {
        release,
        options,
        identity: Identity {
            trust_anchors_pem: String::new(),
            issuer_crt_b64: String::new(),
            issuer_key_b64: String::new(),
        },
        webhooks: Webhooks {
            proxy_injector: placeholder.clone(),
            sp_validator: placeholder.clone(),
            policy_validator: placeholder,
        },
    };
    let (config, workloads) = control_plane::objects(&ctx);
    let kinds_first = |objects: &[Value], kinds: &[&str]| -> Vec<Step> {
        objects
            .iter()
            .filter(|o| kinds.contains(&o["kind"].as_str().unwrap_or_default()))
            .map(|o| Step::Delete(object_ref(o)))
            .collect()
    };
    let mut stage1 = kinds_first(
        &workloads,
        &[
            "Deployment",
            "MutatingWebhookConfiguration",
            "ValidatingWebhookConfiguration",
        ],
    );
    stage1.extend(kinds_first(&config, &["Service"]));
    let mut rbac = kinds_first(
        &config,
        &[
            "ClusterRole",
            "ClusterRoleBinding",
            "Role",
            "RoleBinding",
            "ServiceAccount",
        ],
    );
    // What `linkerd install` adds that this adapter does not (heartbeat), so an upstream install
    // is removed too.
    for kind in ["ClusterRole", "ClusterRoleBinding"] {
        rbac.push(Step::Delete(ObjectRef {
            api_version: "rbac.authorization.k8s.io/v1".into(),
            kind: kind.into(),
            namespace: None,
            name: "linkerd-heartbeat".into(),
        }));
    }
    let settings = kinds_first(&config, &["ConfigMap", "Secret"]);
    let namespace = control_plane::namespace(&ctx);

    let mut crd_steps: Vec<Step> = crds::LINKERD_CRDS.iter().map(|n| Step::Delete(crd_ref(n))).collect();
    for name in crds::GATEWAY_CRDS {
        if let Some(existing) =
            wasmesh_sdk::cluster::get("apiextensions.k8s.io/v1", "CustomResourceDefinition", None, name)?
            && is_ours(&existing)
        {
            crd_steps.push(Step::Delete(crd_ref(name)));
        }
    }
    Ok(make_plan(
        format!("Linkerd control plane removed from namespace {NAMESPACE}"),
        vec![
            stage("workloads, services and webhooks", stage1),
            stage("RBAC", rbac),
            stage("configuration and secrets", settings),
            stage("namespace", vec![Step::Delete(object_ref(&namespace))]),
            stage(
                "namespace deleted",
                vec![wait(
                    object_ref(&namespace),
                    Condition::Deleted,
                    options.wait_seconds,
                    false,
                )],
            ),
            stage("CRDs", crd_steps),
        ],
    ))
}

fn crd_ref(name: &str) -> ObjectRef {
    ObjectRef {
        api_version: "apiextensions.k8s.io/v1".into(),
        kind: "CustomResourceDefinition".into(),
        namespace: None,
        name: name.into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ctx<'a>(release: &'static Release, options: &'a options::Options) -> Context<'a> {
        let b = crate::identity::generate(&options.trust_domain, 1_767_323_045, 10, 5).unwrap();
        let tls = certs::generate("x.linkerd.svc", 1_767_323_045).unwrap();
        Context {
            release,
            options,
            identity: Identity {
                trust_anchors_pem: b.trust_anchor_pem,
                issuer_crt_b64: certs::encode(b.issuer_cert_pem.as_bytes()),
                issuer_key_b64: certs::encode(b.issuer_key_pem.as_bytes()),
            },
            webhooks: Webhooks {
                proxy_injector: tls.clone(),
                sp_validator: tls.clone(),
                policy_validator: tls,
            },
        }
    }

    fn images(objects: &[Value]) -> Vec<String> {
        let mut out = Vec::new();
        for o in objects.iter().filter(|o| o["kind"] == "Deployment") {
            let spec = &o["spec"]["template"]["spec"];
            for c in spec["containers"]
                .as_array()
                .unwrap()
                .iter()
                .chain(spec["initContainers"].as_array().unwrap())
            {
                out.push(c["image"].as_str().unwrap().to_string());
            }
        }
        out
    }

    #[test]
    fn the_config_reader_role_and_the_overrides_secret_are_installed() {
        let default = options::Options::default();
        let release = versions::RELEASES.iter().find(|r| r.name == "stable-2.14.10").unwrap();
        let c = ctx(release, &default);
        let (config, _) = control_plane::objects(&c);
        let find = |kind: &str, name: &str| {
            config
                .iter()
                .find(|o| o["kind"] == kind && o["metadata"]["name"] == name)
                .unwrap_or_else(|| panic!("{kind} {name}"))
                .clone()
        };
        let role = find("Role", "ext-namespace-metadata-linkerd-config");
        assert_eq!(role["metadata"]["namespace"], NAMESPACE);
        assert_eq!(
            role["rules"],
            serde_json::json!([{"apiGroups": [""], "resources": ["configmaps"], "verbs": ["get"],
                "resourceNames": ["linkerd-config"]}])
        );

        let secret = find("Secret", "linkerd-config-overrides");
        assert_eq!(secret["metadata"]["namespace"], NAMESPACE);
        assert_eq!(secret["metadata"]["labels"]["linkerd.io/control-plane-ns"], NAMESPACE);
        let text = certs::decode(secret["data"]["linkerd-config-overrides"].as_str().unwrap()).unwrap();
        let overrides: Value = serde_json::from_slice(&text).unwrap();
        assert_eq!(
            overrides["identityTrustAnchorsPEM"],
            c.identity.trust_anchors_pem.as_str()
        );
        let issuer_pem = String::from_utf8(certs::decode(&c.identity.issuer_crt_b64).unwrap()).unwrap();
        assert_eq!(overrides["identity"]["issuer"]["tls"]["crtPEM"], issuer_pem.as_str());
        let key = overrides["identity"]["issuer"]["tls"]["keyPEM"].as_str().unwrap();
        assert!(key.contains("PRIVATE KEY"), "{key}");
        assert_eq!(
            overrides["disableHeartBeat"], true,
            "an upgrade must not add the heartbeat"
        );
        assert!(overrides.get("controllerImage").is_none(), "defaults are not overrides");
        assert!(overrides.get("identityTrustDomain").is_none());

        let mirror = options::Options {
            registry: "mirror.local/l5d".into(),
            trust_domain: "mesh.example".into(),
            ..options::Options::default()
        };
        let o = control_plane::overrides(&ctx(release, &mirror));
        assert_eq!(o["controllerImage"], "mirror.local/l5d/controller");
        assert_eq!(o["proxy"]["image"]["name"], "mirror.local/l5d/proxy");
        assert_eq!(o["proxyInit"]["image"]["name"], "mirror.local/l5d/proxy-init");
        assert_eq!(
            o["policyController"]["image"]["name"],
            "mirror.local/l5d/policy-controller"
        );
        assert_eq!(o["identityTrustDomain"], "mesh.example");
    }

    #[test]
    fn terminating_extension_namespaces_are_not_installed_extensions() {
        let ns = |name: &str, ext: &str, deleting: bool| {
            let mut o = serde_json::json!({"metadata": {"name": name, "labels": {"linkerd.io/extension": ext}}});
            if deleting {
                o["metadata"]["deletionTimestamp"] = "2026-12-03T10:35:27Z".into();
            }
            o
        };
        let listed = [
            ns("linkerd-viz", "viz", false),
            ns("linkerd-jaeger", "jaeger", true),
            ns(NAMESPACE, "control-plane", false),
        ];
        assert_eq!(installed_extensions(&listed), ["linkerd-viz (viz)"]);
        assert!(installed_extensions(&listed[1..]).is_empty());
    }

    #[test]
    fn images_follow_the_release_and_the_registry() {
        let default = options::Options::default();
        for r in versions::RELEASES {
            let (_, w) = control_plane::objects(&ctx(r, &default));
            let imgs = images(&w);
            assert!(imgs.contains(&format!("cr.l5d.io/linkerd/controller:{}", r.name)));
            assert!(imgs.contains(&format!("cr.l5d.io/linkerd/policy-controller:{}", r.name)));
            assert!(imgs.contains(&format!("cr.l5d.io/linkerd/proxy:{}", r.name)));
            assert!(imgs.contains(&format!("cr.l5d.io/linkerd/proxy-init:{}", r.proxy_init_tag)));
        }
        let mirror = options::Options {
            registry: "mirror.local/l5d".into(),
            ..default
        };
        let (_, w) = control_plane::objects(&ctx(&versions::RELEASES[0], &mirror));
        assert!(
            images(&w).iter().all(|i| i.starts_with("mirror.local/l5d/")),
            "{:?}",
            images(&w)
        );
    }

    #[test]
    fn every_object_is_labelled_and_namespaced_where_it_must_be() {
        let default = options::Options::default();
        let c = ctx(&versions::RELEASES[1], &default);
        let (config, workloads) = control_plane::objects(&c);
        let cluster_kinds = [
            "ClusterRole",
            "ClusterRoleBinding",
            "MutatingWebhookConfiguration",
            "ValidatingWebhookConfiguration",
        ];
        for o in config.iter().chain(workloads.iter()) {
            assert_eq!(o["metadata"]["labels"][control_plane::NS_LABEL], NAMESPACE, "{o}");
            let kind = o["kind"].as_str().unwrap();
            assert_eq!(
                o["metadata"]["namespace"].is_null(),
                cluster_kinds.contains(&kind),
                "{kind}"
            );
        }
        let values: Value = serde_json::from_str(
            config
                .iter()
                .find(|o| o["metadata"]["name"] == "linkerd-config")
                .unwrap()["data"]["values"]
                .as_str()
                .unwrap(),
        )
        .unwrap();
        assert_eq!(values["linkerdVersion"], "edge-25.4.4");
        assert_eq!(values["identityTrustDomain"], "cluster.local");
        assert!(!values.to_string().contains("PRIVATE KEY"), "no keys in linkerd-config");
    }

    /// The control plane's own proxies speak to the policy controller of their release: 2.14's
    /// reads the workload as `<namespace>:<pod>` only, 2.18's as JSON.
    #[test]
    fn proxy_env_follows_the_release() {
        let default = options::Options::default();
        for r in versions::RELEASES {
            let (_, w) = control_plane::objects(&ctx(r, &default));
            let mut proxies = 0;
            for d in w.iter().filter(|o| o["kind"] == "Deployment") {
                for c in d["spec"]["template"]["spec"]["containers"].as_array().unwrap() {
                    if c["name"] != "linkerd-proxy" {
                        continue;
                    }
                    proxies += 1;
                    let env = |name: &str| {
                        c["env"].as_array().unwrap().iter().find(|e| e["name"] == name).unwrap()["value"]
                            .as_str()
                            .unwrap()
                            .to_string()
                    };
                    let (workload, log) = (env("LINKERD2_PROXY_POLICY_WORKLOAD"), env("LINKERD2_PROXY_LOG"));
                    match r.generation {
                        versions::Generation::V2_14 => {
                            assert_eq!(workload, "$(_pod_ns):$(_pod_name)", "{}", r.name);
                            assert_eq!(log, r.proxy_log_level, "{}", r.name);
                        }
                        versions::Generation::V2_18 => {
                            assert!(workload.starts_with("{\"ns\":\"$(_pod_ns)\""), "{workload}");
                            assert!(log.ends_with("[{headers}]=off,[{request}]=off"), "{log}");
                        }
                    }
                }
            }
            assert_eq!(proxies, control_plane::DEPLOYMENTS.len(), "{}", r.name);
        }
    }

    /// `cargo test -p wasmesh-plugin-linkerd -- --ignored --nocapture install_plan_size`
    #[test]
    #[ignore]
    fn install_plan_size() {
        let default = options::Options::default();
        for r in versions::RELEASES {
            let c = ctx(r, &default);
            let (config, workloads) = control_plane::objects(&c);
            let crds: Vec<Value> = crds::linkerd_crds(r).into_iter().chain(crds::gateway_crds(r)).collect();
            let bytes: usize = config
                .iter()
                .chain(workloads.iter())
                .chain(crds.iter())
                .map(|o| o.to_string().len())
                .sum();
            println!(
                "{}: {} objects, {bytes} bytes of JSON",
                r.name,
                config.len() + workloads.len() + crds.len() + 1
            );
        }
    }
}
