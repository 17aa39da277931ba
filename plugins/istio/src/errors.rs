//! The Istio translator's errors: each with its number (the code is `WASMESH-ISTIO-<n>`),
//! message, probable cause and remediation in one place. A number given twice does not compile.

wasmesh_sdk::errors! {
    pub enum IstioError in "WASMESH-ISTIO" {
        BadBody { what: String, keys: String } = 1101 => {
            message: "the istio operation's body is not usable: {what}",
            cause: "the custom body must be empty, or a YAML or JSON mapping",
            remedy: "send e.g. `profile: ambient` (keys: {keys})",
        },
        UnknownVersion { version: String, versions: String, default: String } = 1102 => {
            message: "Istio version \"{version}\" is not offered; valid versions: {versions}",
            cause: "the request names a version this adapter does not embed",
            remedy: "pick one of {versions} (or leave it empty for {default})",
        },
        UnknownProfile { profile: String, profiles: String, default: &'static str } = 1103 => {
            message: "Istio profile \"{profile}\" is not offered; valid profiles: {profiles}",
            cause: "the custom body names a profile this adapter does not install",
            remedy: "set `profile:` to one of {profiles} (or leave it out for {default})",
        },
        BadOption { key: String, problem: String, wanted: String } = 1104 => {
            message: "the istio operation's `{key}` is not usable: {problem}",
            cause: "the custom body gives `{key}` a value of the wrong type or out of range",
            remedy: "set `{key}` to {wanted}",
        },
        UnknownOption { key: String, keys: String } = 1105 => {
            message: "unknown install option `{key}`; the Istio install accepts: {keys}",
            cause: "the custom body names an option this adapter does not know (a typo, or a Helm or IstioOperator value)",
            remedy: "remove it, or use one of: {keys}",
        },
        AddonWithoutMesh { addon: &'static str } = 1200 => {
            message: "the {addon} add-on cannot be installed: Istio is not installed in this cluster",
            cause: "no Istio control plane was found (istiod in istio-system); the add-ons are built for the installed Istio release and live beside it",
            remedy: "install Istio first (the \"istio\" operation), then run this operation again",
        },
        RivalAddon { addon: &'static str, rival: &'static str, services: String } = 1201 => {
            message: "the {addon} add-on cannot be installed while the {rival} add-on is installed",
            cause: "both tracing back ends serve the Services {services} in istio-system; installing one would take them over from the other",
            remedy: "remove the {rival} add-on first (its operation with delete), then run this one again",
        },
        PolicyWithoutMesh { policy: String } = 1300 => {
            message: "the {policy} cannot be applied: Istio is not installed in this cluster",
            cause: "no Istio control plane was found (istiod in istio-system), so the cluster does not serve security.istio.io policies",
            remedy: "install Istio first (the \"istio\" operation), then run this operation again",
        },
        PolicyNamespace { policy: String } = 1302 => {
            message: "{policy} needs a namespace",
            cause: "the request named no namespace",
            remedy: "choose the namespace the policy is for and run the operation again",
        },
        FilterWithoutMesh = 1350 => {
            message: "the image hub rate-limit filter cannot be applied: Istio is not installed in this cluster",
            cause: "no Istio control plane was found (istiod in istio-system), so the cluster does not serve networking.istio.io EnvoyFilters and no proxy would run the filter",
            remedy: "install Istio first (the \"istio\" operation), deploy the image hub (the \"imagehub\" operation), then run this operation again",
        },
        FilterNamespace = 1351 => {
            message: "the image hub rate-limit filter needs a namespace",
            cause: "the request named no namespace",
            remedy: "choose the namespace the image hub runs in and run the operation again",
        },
        SampleWithoutMesh { app: &'static str } = 1400 => {
            message: "{app} cannot be deployed: Istio is not installed in this cluster",
            cause: "no Istio control plane was found (istiod in istio-system): nothing would inject the application's proxies, and the cluster does not serve the Gateway and VirtualService that expose it",
            remedy: "install Istio first (the \"istio\" operation), then run this operation again",
        },
        SampleNamespace { app: &'static str } = 1402 => {
            message: "{app} needs a namespace",
            cause: "the request named no namespace",
            remedy: "choose the namespace to deploy the application into and run the operation again",
        },
        VetNotInstalled { scope: String } = 1500 => {
            message: "Istio is not installed: there is no istiod Deployment in namespace \"istio-system\", so {scope} cannot be vetted",
            cause: "the Istio control plane was never installed in this cluster, was removed, or runs in another namespace",
            remedy: "install Istio (Meshery operation \"Istio service mesh\", or istioctl install --set profile=minimal), then run istio-vet again",
        },
        VetIstiodMissing { recorded: String } = 1501 => {
            message: "Istio {recorded} is recorded as installed, but there is no istiod Deployment in namespace \"istio-system\"",
            cause: "istiod was deleted, or the installation did not finish",
            remedy: "install Istio again (Meshery operation \"Istio service mesh\") to restore istiod",
        },
        VetIstiodUnavailable { name: String, namespace: String, ready: i64, replicas: i64 } = 1502 => {
            message: "istiod Deployment \"{name}\" in namespace \"{namespace}\" is not available ({ready} of {replicas} replicas ready)",
            cause: "istiod pods are not ready: still starting, crash-looping, unschedulable, or scaled to zero",
            remedy: "look at the pods (kubectl -n {namespace} get pods -l app=istiod; kubectl -n {namespace} logs deploy/{name}) and fix what keeps them from becoming ready; proxies get no configuration and new pods no sidecar meanwhile",
        },
        VetInjectorMissing = 1503 => {
            message: "the Istio sidecar injector webhook is missing: there is no MutatingWebhookConfiguration istio-sidecar-injector",
            cause: "the webhook was deleted or never installed, so no new pod gets an istio-proxy sidecar",
            remedy: "install Istio again (Meshery operation \"Istio service mesh\") to restore the MutatingWebhookConfiguration istio-sidecar-injector",
        },
        VetValidatorMissing = 1504 => {
            message: "the Istio validation webhook is missing: there is no ValidatingWebhookConfiguration istio-validator-istio-system",
            cause: "the webhook was deleted or never installed, so invalid Istio configuration is accepted and only fails later in the proxies",
            remedy: "install Istio again (Meshery operation \"Istio service mesh\") to restore the ValidatingWebhookConfiguration istio-validator-istio-system",
        },
        VetVersionUnknown { name: String, namespace: String } = 1505 => {
            message: "the version of istiod Deployment \"{name}\" in namespace \"{namespace}\" is unknown: its image has no tag",
            cause: "the image is referenced by digest only, so proxy versions cannot be compared with it",
            remedy: "reference the pilot image with its version tag (e.g. docker.io/istio/pilot:<version>, optionally followed by @sha256:...)",
        },
        VetMissingSidecar { workload: String, pods: String, why: String, restart: String } = 1510 => {
            message: "{workload} runs without the istio-proxy sidecar ({pods}), although {why}",
            cause: "the pods were created before injection was enabled, or while the injector webhook was unavailable",
            remedy: "restart the workload so the injector adds the sidecar ({restart}); or label its pods sidecar.istio.io/inject=false to keep them out of the mesh",
        },
        VetUnknownRevision { namespace: String, revision: String, served: String } = 1511 => {
            message: "namespace \"{namespace}\" selects Istio revision \"{revision}\" (label istio.io/rev), which no istiod serves",
            cause: "the revision was removed or never installed, so pods created in the namespace get no sidecar",
            remedy: "label the namespace with a served revision (kubectl label namespace {namespace} istio.io/rev={served} --overwrite), or use istio-injection=enabled",
        },
        VetVersionMismatch { workload: String, version: String, pods: String, expected: String, restart: String } = 1520 => {
            message: "{workload} runs istio-proxy {version} ({pods}) but the control plane is istiod {expected}",
            cause: "the pods were injected before the control plane was upgraded or downgraded, or by another revision",
            remedy: "restart the workload so it is injected again with the control plane's proxy ({restart})",
        },
        VetMissingApp { workload: String, pods: String, app: String, place: String } = 1530 => {
            message: "{workload} has meshed pods without an app label ({pods})",
            cause: "Istio names the workload in metrics, traces and Kiali by the app (or app.kubernetes.io/name) label; without it telemetry is hard to attribute",
            remedy: "add an app label (e.g. app: {app}) to {place}",
        },
        VetMissingVersion { workload: String, pods: String, place: String } = 1531 => {
            message: "{workload} has meshed pods without a version label ({pods})",
            cause: "Istio reports the workload version from the version (or app.kubernetes.io/version) label; routing by subset and versioned telemetry need it",
            remedy: "add a version label (e.g. version: v1) to {place}",
        },
        VetUnnamedPort { service: String, namespace: String, ports: String } = 1540 => {
            message: "Service \"{service}\" in namespace \"{namespace}\" does not declare the protocol of {ports}",
            cause: "Istio takes a port's protocol from its name prefix or appProtocol; otherwise it has to guess, and HTTP routing, retries and metrics may not apply",
            remedy: "name the ports of Service {service} with a protocol prefix (http-, http2-, https-, grpc-, tcp-, tls-, mongo-, mysql-, redis-, e.g. \"http-web\"), or set appProtocol on them",
        },
        VetNoService { workload: String, pods: String, namespace: String, hint: String } = 1550 => {
            message: "{workload} matches no Service ({pods})",
            cause: "no Service in the namespace selects these pods' labels; Istio routes, balances and authorises traffic per Service, so the mesh sends them nothing",
            remedy: "create a Service in namespace {namespace} whose selector matches the pods' labels{hint}, or fix the selector of the Service meant for them",
        },
        VetDanglingRoute { name: String, namespace: String, host: String, service_hint: String } = 1560 => {
            message: "VirtualService \"{name}\" in namespace \"{namespace}\" routes to host \"{host}\", which is neither a Service nor a ServiceEntry host",
            cause: "the destination Service was deleted, renamed or lives in another namespace, or the host is external without a ServiceEntry; requests on this route fail with 503",
            remedy: "{service_hint}add a ServiceEntry for \"{host}\", or correct the destination host in VirtualService {name} (a short name means a Service in namespace {namespace})",
        },
        VetMeshConflict { names: String, host: String } = 1570 => {
            message: "VirtualServices {names} all define host \"{host}\" for the mesh (sidecars)",
            cause: "sidecars take only one VirtualService per host; the routes of the others are ignored",
            remedy: "merge the routes for {host} into one VirtualService, or bind the others to a gateway",
        },
        VetGatewayConflict { names: String, host: String, gateway: String } = 1571 => {
            message: "VirtualServices {names} all define host \"{host}\" on gateway {gateway}",
            cause: "the gateway merges VirtualServices for the same host, but the order of their routes is not defined, so a catch-all route in one can hide the routes of another",
            remedy: "merge the routes for {host} on gateway {gateway} into one VirtualService, or make sure their matches do not overlap",
        },
        VetNamespaceMissing { namespace: String } = 1590 => {
            message: "istio-vet: namespace \"{namespace}\" does not exist",
            cause: "the request names a namespace that is not in the cluster",
            remedy: "pick an existing namespace, or \"all\" to vet every namespace",
        },
        BadTrafficSplit { name: String, why: String } = 2110 => {
            message: "traffic split \"{name}\" cannot be used: {why}",
            cause: "the TrafficSplit component's spec is not of the expected shape",
            remedy: "give spec.service and spec.backends as [{{version: v1, weight: 80}}, {{version: v2, weight: 20}}]",
        },
        SplitWeights { name: String, total: u64 } = 2111 => {
            message: "traffic split \"{name}\" has weights adding up to {total}, not 100",
            cause: "the backends' weights are percentages of the traffic and must cover all of it",
            remedy: "change the weights so that they add up to 100",
        },
        UnknownMtlsPolicy { name: String, component: String, policy: String } = 2120 => {
            message: "trait {name} of component \"{component}\" names policy \"{policy}\", not strict, mutual or disable",
            cause: "the mTLS trait's policy property is missing or unknown",
            remedy: "set policy to strict (mTLS required), mutual (mTLS and plain text) or disable",
        },
    }
}
