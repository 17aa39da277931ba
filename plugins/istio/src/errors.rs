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
