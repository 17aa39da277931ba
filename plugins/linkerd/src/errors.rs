//! The Linkerd translator's errors: each with its number (the code is `WASMESH-LINKERD-<n>`),
//! message, probable cause and remediation in one place. A number given twice does not compile.

/// How a rotate-identity-issuer body is written, said when it is not.
pub(crate) const BODY_HELP: &str = "give JSON such as {\"newTrustAnchor\": true} or {\"trustAnchorCertPEM\": \"...\", \
     \"trustAnchorKeyPEM\": \"...\"}, or paste the trust anchor's PEM certificate and private key, with option \
     lines like `issuerValidityDays: 365`; or leave the body empty";

// Texts several linkerd-check findings share.
const CHECK_REINSTALL_CRDS: &str =
    "run the linkerd install operation again (it re-applies the CRDs, and adds the Gateway API CRDs that are missing)";
const CHECK_CRDS_PENDING_CAUSE: &str =
    "the API server has not accepted the CRDs' names (a conflict with another CRD, or they were just created)";
const CHECK_CRDS_PENDING_REMEDY: &str =
    "wait a few seconds and check again; if it stays, `kubectl describe crd <name>` shows the conflict";
const CHECK_NEW_ISSUER: &str = "run rotate-identity-issuer to issue a new issuer certificate";

wasmesh_sdk::errors! {
    pub enum LinkerdError in "WASMESH-LINKERD" {
        UnknownVersion { wanted: String, known: String, default: &'static str } = 1101 => {
            message: "unknown Linkerd version \"{wanted}\"; this adapter installs: {known}",
            cause: "the requested version is not one the Linkerd translator embeds (every manifest is built into the adapter; nothing is downloaded)",
            remedy: "pick one of the listed versions in Meshery (leave it empty for {default}), or run an adapter release that embeds the version you need",
        },
        OptionsSyntax { why: String, keys: String } = 1102 => {
            message: "install options: {why}",
            cause: "the custom body of the linkerd operation holds install options and could not be read",
            remedy: "leave the custom body empty for the defaults, or give a mapping such as `registry: my.mirror/linkerd` (keys: {keys})",
        },
        UnknownOption { key: String, keys: String } = 1103 => {
            message: "unknown install option \"{key}\"; the Linkerd install accepts: {keys}",
            cause: "the custom body names an option this adapter does not know (a typo, or an option of another tool such as a Helm value)",
            remedy: "remove it or use one of: {keys}",
        },
        BadOption { key: String, problem: String, fix: String } = 1104 => {
            message: "invalid install option {key}: {problem}",
            cause: "an install option has the wrong type or an unusable value",
            remedy: "{fix}",
        },
        ExtensionsInstalled { namespaces: String } = 1105 => {
            message: "Linkerd extensions are still installed in namespaces: {namespaces}; uninstall them before the control plane",
            cause: "the extensions' proxies and controllers depend on the control plane; removing it first would leave them broken, so `linkerd uninstall` refuses too",
            remedy: "uninstall each add-on first (in Meshery, run its add-on operation, e.g. viz-addon, with delete; or `linkerd viz uninstall | kubectl delete -f -`), then uninstall Linkerd",
        },
        IdentityIncomplete { anchors: &'static str, crt: &'static str, key: &'static str } = 1106 => {
            message: "the Linkerd identity in namespace linkerd is incomplete: trust roots {anchors}, issuer certificate {crt}, issuer key {key}",
            cause: "the ConfigMap linkerd-identity-trust-roots (ca-bundle.crt) and the Secret linkerd-identity-issuer (crt.pem, key.pem) must both be there to be kept; another tool may have removed one, or the issuer uses the kubernetes.io/tls scheme of an external CA, which this adapter does not manage",
            remedy: "restore the missing object, or uninstall Linkerd completely (the linkerd operation with delete) and install again to mint a new identity",
        },
        WebhookCerts { reason: String } = 1107 => {
            message: "the admission webhook certificates could not be made: {reason}",
            cause: "building the webhook TLS certificates inside the Linkerd translator failed (a bug, or the host's random source failed)",
            remedy: "retry the operation; if it fails again, report it as a wasmesh bug with the message above",
        },
        OtherTrustDomain { subject: String, asked: String } = 1108 => {
            message: "the installed Linkerd issuer is {subject}, but trust domain \"{asked}\" was asked for",
            cause: "a re-install keeps the existing identity so running proxies keep working, and that identity belongs to another trust domain",
            remedy: "re-install with the trust domain the control plane already uses, or uninstall Linkerd (and re-inject workloads) to change it",
        },
        NoControlPlane { addon: &'static str } = 1201 => {
            message: "the {addon} needs Linkerd, and no Linkerd control plane is installed in this cluster",
            cause: "ConfigMap linkerd/linkerd-config was not found",
            remedy: "install Linkerd first (operation \"linkerd\"), then add the extension",
        },
        NoExtensionsFor { addon: &'static str, version: String } = 1202 => {
            message: "the {addon} cannot be added to Linkerd {version}: this adapter has the extensions for stable-2.14.x and edge-25.x.y",
            cause: "the installed control plane is a release the adapter does not carry extension manifests for",
            remedy: "install Linkerd stable-2.14.10 or edge-25.4.4 with this adapter, or add the extension with the linkerd CLI of the installed release",
        },
        AddonSettings { why: String } = 1203 => {
            message: "the add-on settings are not usable: {why}",
            cause: "an extension takes no body, or a YAML or JSON mapping of settings such as logLevel: debug",
            remedy: "send an empty body, or a mapping such as logLevel: debug (YAML) or {{\"logLevel\": \"debug\"}} (JSON)",
        },
        LogLevel { given: String } = 1204 => {
            message: "invalid logLevel {given} in the add-on settings",
            cause: "the extensions' components accept trace, debug, info, warn or error",
            remedy: "set logLevel to one of trace, debug, info, warn, error (or leave it out for info)",
        },
        NoRandom { reason: String } = 1210 => {
            message: "no random numbers for an extension's serving certificate: {reason}",
            cause: "the plugin's random source (wasi:random, provided by the wasmesh host) failed",
            remedy: "retry; if it keeps failing, check the host's logs and report it as a wasmesh bug",
        },
        ServingCert { host: String, reason: String } = 1211 => {
            message: "the serving certificate for {host} could not be built: {reason}",
            cause: "a bug in the Linkerd translator's certificate code",
            remedy: "report it as a wasmesh bug; meanwhile install the extension with the linkerd CLI",
        },
        SampleNamespace { namespace: String } = 1301 => {
            message: "\"{namespace}\" is not a namespace name",
            cause: "sample applications go into the namespace the request names, and this one is empty or not a lowercase DNS label",
            remedy: "pick a namespace such as \"default\" or \"bookinfo\" (lowercase letters, digits and '-', at most 63 characters)",
        },
        SampleWithoutProxies { app: &'static str } = 1302 => {
            message: "{app} is deployed without Linkerd proxies: no Linkerd control plane is installed",
            cause: "the pods ask for injection (linkerd.io/inject: enabled), but there is no proxy injector to answer",
            remedy: "install Linkerd (operation \"linkerd\"), then restart the application's deployments to mesh them",
        },
        BadTrustDomain { trust_domain: String, max: usize } = 3001 => {
            message: "invalid Linkerd trust domain \"{trust_domain}\": it is not a lowercase DNS name of at most {max} characters (dot-separated labels of letters, digits and '-', none starting or ending with '-')",
            cause: "the trust domain names the certificates (root.<trust domain>, identity.linkerd.<trust domain>) and must be a lowercase DNS name",
            remedy: "use the cluster's DNS domain, cluster.local unless the cluster was set up with another one, or a lowercase DNS name such as mesh.example.com",
        },
        Lifetimes { anchor_days: u32, issuer_days: u32 } = 3002 => {
            message: "invalid certificate lifetimes: trust anchor {anchor_days} days, issuer {issuer_days} days",
            cause: "a lifetime is zero, or the certificates would end after the year 9999, which X.509 cannot express",
            remedy: "give both lifetimes at least 1 day (Linkerd's documentation uses 87600 days for the trust anchor and 8760 for the issuer)",
        },
        IdentityRandom { reason: String } = 3003 => {
            message: "no random numbers for the identity keys: {reason}",
            cause: "the plugin's random source (wasi:random, provided by the wasmesh host) failed",
            remedy: "retry; if it keeps failing, check the host's logs and report it as a wasmesh bug",
        },
        IdentityEncoding { reason: String } = 3004 => {
            message: "{reason}",
            cause: "the identity certificates could not be encoded; this is a bug in the Linkerd translator",
            remedy: "report it as a wasmesh bug with the trust domain and lifetimes used; meanwhile create the certificates with `step certificate create` as Linkerd's documentation shows",
        },
        AnchorCertificate { problem: String } = 3005 => {
            message: "{problem}",
            cause: "the trust anchor given to sign the new issuer is not a usable P-256 CA certificate with its own private key",
            remedy: "give the trust anchor certificate (ca.crt) and its private key (ca.key, \"EC PRIVATE KEY\" or \"PRIVATE KEY\", ECDSA P-256) as created with `step certificate create root.linkerd.cluster.local ca.crt ca.key --profile root-ca`",
        },
        AnchorKey { reason: String } = 3006 => {
            message: "the trust anchor private key cannot be used: {reason}",
            cause: "the trust anchor given to sign the new issuer is not a usable P-256 CA certificate with its own private key",
            remedy: "give the trust anchor certificate (ca.crt) and its private key (ca.key, \"EC PRIVATE KEY\" or \"PRIVATE KEY\", ECDSA P-256) as created with `step certificate create root.linkerd.cluster.local ca.crt ca.key --profile root-ca`",
        },
        AnchorKeyMismatch = 3007 => {
            message: "the trust anchor private key does not belong to the trust anchor certificate",
            cause: "the trust anchor given to sign the new issuer is not a usable P-256 CA certificate with its own private key",
            remedy: "give the trust anchor certificate (ca.crt) and its private key (ca.key, \"EC PRIVATE KEY\" or \"PRIVATE KEY\", ECDSA P-256) as created with `step certificate create root.linkerd.cluster.local ca.crt ca.key --profile root-ca`",
        },
        AnchorNotUsable { problem: String } = 3008 => {
            message: "{problem}",
            cause: "the trust anchor given to sign the new issuer is not a usable P-256 CA certificate with its own private key",
            remedy: "give the trust anchor certificate (ca.crt) and its private key (ca.key, \"EC PRIVATE KEY\" or \"PRIVATE KEY\", ECDSA P-256) as created with `step certificate create root.linkerd.cluster.local ca.crt ca.key --profile root-ca`",
        },
        CheckNotInstalled = 1400 => {
            message: "Linkerd is not installed: ConfigMap linkerd/linkerd-config was not found",
            cause: "the Linkerd control plane has not been installed in this cluster, or it was removed",
            remedy: "install it with the linkerd operation (Meshery: Linkerd adapter, Install), then run linkerd-check again",
        },
        CheckCrdsMissing { missing: String } = 1401 => {
            message: "Linkerd CRDs missing: {missing}",
            cause: "the CustomResourceDefinitions were deleted or the install did not finish; without them the \
                destination and policy controllers cannot start",
            remedy: "{CHECK_REINSTALL_CRDS}",
        },
        CheckCrdsNotEstablished { names: String } = 1402 => {
            message: "Linkerd CRDs not established: {names}",
            cause: "{CHECK_CRDS_PENDING_CAUSE}",
            remedy: "{CHECK_CRDS_PENDING_REMEDY}",
        },
        CheckDeploymentMissing { name: String } = 1403 => {
            message: "control-plane Deployment linkerd/{name} is missing",
            cause: "it was deleted, or the install did not finish",
            remedy: "run the linkerd install operation again",
        },
        CheckDeploymentUnavailable { name: String, available: i64, replicas: i64 } = 1404 => {
            message: "control-plane Deployment linkerd/{name} is not available ({available}/{replicas} replicas available)",
            cause: "its pods are not ready: an image that cannot be pulled, a crash loop, missing certificates, or not \
                enough resources",
            remedy: "look at `kubectl -n linkerd describe deployment {name}` and `kubectl -n linkerd logs deploy/{name} --all-containers`",
        },
        CheckWebhookConfig { kind: String, name: String, problem: &'static str } = 1405 => {
            message: "{kind} {name} {problem}",
            cause: "the webhook configuration was deleted, edited or only partly applied, or the install did not finish",
            remedy: "run the linkerd install operation again",
        },
        CheckCaBundle { hook: String, kind: String, name: String, problem: String } = 1406 => {
            message: "webhook {hook} of {kind} {name} {problem}",
            cause: "the caBundle is missing or not base64 of PEM certificates: the API server cannot verify the \
                webhook's TLS certificate, so every admission call fails",
            remedy: "run the linkerd install operation again (it writes the caBundle), or let cert-manager's CA \
                injector fill it if you manage the certificates with cert-manager",
        },
        CheckServingSecret { secret: String, name: String, problem: String } = 1407 => {
            message: "the webhook serving Secret linkerd/{secret} of {name} {problem}",
            cause: "the secret holding the webhook's TLS certificate was deleted, or does not hold a valid PEM \
                certificate under tls.crt",
            remedy: "run the linkerd install operation again to recreate the certificate and the caBundle",
        },
        CheckCaBundleMismatch { hook: String, kind: String, name: String, secret: String, serving: String, issuer: String } = 1408 => {
            message: "webhook {hook} of {kind} {name}: the caBundle does not match the serving certificate \
                in linkerd/{secret} (certificate {serving}, issued by {issuer})",
            cause: "the webhook's certificate was renewed (or the caBundle replaced) without the other, so the \
                API server refuses the webhook's TLS and admission calls fail",
            remedy: "run the linkerd install operation again so that the secret and the caBundle are written \
                together, then restart the webhook's Deployment",
        },
        CheckServingCertNotValid { name: String, secret: String, start: String, end: String } = 1409 => {
            message: "the serving certificate of {name} (linkerd/{secret}) is not valid now: valid from {start} to {end}",
            cause: "the webhook's TLS certificate has expired (or the cluster's clock is wrong), so admission calls fail",
            remedy: "run the linkerd install operation again to issue new webhook certificates, then restart the \
                webhook's Deployment",
        },
        CheckServingCertExpiring { name: String, secret: String, end: String } = 1410 => {
            message: "the serving certificate of {name} (linkerd/{secret}) expires in less than 30 days, on {end}",
            cause: "the webhook's TLS certificate is close to the end of its validity",
            remedy: "run the linkerd install operation again before then to issue new webhook certificates",
        },
        CheckTrustRootsMissing = 1411 => {
            message: "ConfigMap linkerd/linkerd-identity-trust-roots with the trust anchors is missing",
            cause: "the trust roots were deleted or the install did not finish; the identity controller and new proxies \
                cannot start without them",
            remedy: "run the linkerd install operation again (this keeps no old anchor: restart meshed workloads after)",
        },
        CheckTrustRootsUnusable { problem: String } = 1412 => {
            message: "the trust anchors in linkerd/linkerd-identity-trust-roots (ca-bundle.crt) are not usable: {problem}",
            cause: "the trust roots ConfigMap must hold PEM CA certificates (basicConstraints CA:TRUE), which sign the issuer",
            remedy: "restore the trust anchor bundle (the PEM root CA certificates every proxy trusts) in ca-bundle.crt, \
                e.g. from `step certificate create root.linkerd.cluster.local ca.crt ca.key --profile root-ca`",
        },
        CheckAnchorsExpired { anchors: String } = 1413 => {
            message: "no trust anchor in linkerd/linkerd-identity-trust-roots is valid now: {anchors}",
            cause: "the trust anchors have expired (or are not valid yet): proxies can no longer verify each other",
            remedy: "run rotate-identity-issuer (it makes a new trust anchor and issuer), then restart the control plane \
                and every meshed workload",
        },
        CheckAnchorsExpiring { problems: String } = 1414 => {
            message: "trust anchors in linkerd/linkerd-identity-trust-roots: {problems}",
            cause: "a trust anchor is at (or past) the end of its validity",
            remedy: "run rotate-identity-issuer with newTrustAnchor to add a new anchor, restart the meshed workloads, \
                then remove the old anchor from the bundle",
        },
        CheckIssuerMissing = 1415 => {
            message: "Secret linkerd/linkerd-identity-issuer with the identity issuer is missing",
            cause: "the issuer secret was deleted or the install did not finish; the identity controller cannot sign \
                proxy certificates",
            remedy: "run the linkerd install operation again, or rotate-identity-issuer with the trust anchor's key",
        },
        CheckIssuerMalformed { problem: String } = 1416 => {
            message: "the identity issuer in linkerd/linkerd-identity-issuer is malformed: {problem}",
            cause: "the secret does not hold an issuer certificate and key Linkerd can read (crt.pem and key.pem, or \
                tls.crt and tls.key)",
            remedy: "{CHECK_NEW_ISSUER}",
        },
        CheckIssuerNotSigned { name: String, issuer: String } = 1417 => {
            message: "the identity issuer {name} is not signed by any trust anchor in linkerd/linkerd-identity-trust-roots \
                (it names {issuer} as its issuer)",
            cause: "the issuer or the trust roots were replaced without the other: the identity controller refuses \
                the issuer, and proxies would not trust certificates it signs",
            remedy: "run rotate-identity-issuer with the trust anchor's certificate and key (trustAnchorCertPEM, \
                trustAnchorKeyPEM), or with newTrustAnchor to make a new anchor and issuer",
        },
        CheckIssuerNotValid { name: String, state: &'static str, start: String, end: String } = 1418 => {
            message: "the identity issuer {name} {state}: valid from {start} to {end}",
            cause: "the identity controller cannot issue proxy certificates with it; proxies lose their identity as \
                their certificates end (24 hours)",
            remedy: "{CHECK_NEW_ISSUER}",
        },
        CheckIssuerExpiring { name: String, end: String } = 1419 => {
            message: "the identity issuer {name} expires in less than 30 days, on {end}",
            cause: "the issuer certificate is close to the end of its validity",
            remedy: "{CHECK_NEW_ISSUER}",
        },
        CheckIssuerKey { key: &'static str, problem: String } = 1420 => {
            message: "the identity issuer key in linkerd/linkerd-identity-issuer ({key}) is unusable: {problem}",
            cause: "the identity controller cannot load the issuer and stops signing proxy certificates",
            remedy: "{CHECK_NEW_ISSUER}",
        },
        CheckSignatureUnchecked { what: String, why: String, files: &'static str } = 1421 => {
            message: "{what} but its signature could not be checked ({why})",
            cause: "this check verifies ECDSA P-256 signatures only",
            remedy: "check it by hand: `openssl verify -CAfile {files}`",
        },
        CheckGatewayCrdsMissing { missing: String } = 1422 => {
            message: "Gateway API CRDs missing: {missing}",
            cause: "the Gateway API CustomResourceDefinitions were deleted (by Linkerd's uninstall, another \
                project's, or by hand) or the install did not finish; the policy controller watches these \
                route kinds and cannot serve policy without them",
            remedy: "{CHECK_REINSTALL_CRDS}",
        },
        CheckGatewayCrdsNotEstablished { names: String } = 1423 => {
            message: "Gateway API CRDs not established: {names}",
            cause: "{CHECK_CRDS_PENDING_CAUSE}",
            remedy: "{CHECK_CRDS_PENDING_REMEDY}",
        },
        CheckPodsWithoutProxy { namespace: String, count: usize, pods: String } = 1430 => {
            message: "namespace {namespace} is annotated for injection but {count} pod(s) run without the Linkerd proxy: {pods}",
            cause: "the pods were created before the namespace was annotated, or while the proxy injector was down",
            remedy: "restart their workloads, e.g. `kubectl -n {namespace} rollout restart deploy`",
        },
        CheckFailed { summary: String, failed: String } = 1499 => {
            message: "{summary}",
            cause: "failed: {failed}",
            remedy: "each failed check has its own ERROR event of this operation with the cause and the \
                remedy; fix those and run linkerd-check again",
        },
        RotateNotInstalled { message: String } = 1500 => {
            message: "{message}",
            cause: "there is no Linkerd control plane in this cluster whose issuer could be rotated",
            remedy: "install Linkerd first (the linkerd operation); it makes a trust anchor and an issuer",
        },
        IssuerMissing { message: String } = 1501 => {
            message: "{message}",
            cause: "the control plane is installed but its issuer secret was deleted",
            remedy: "run the linkerd install operation again to restore it, then rotate",
        },
        IssuerExternal { message: String } = 1502 => {
            message: "{message}",
            cause: "the issuer secret holds tls.crt/tls.key, as cert-manager or another external CA writes it; a \
             rotation here would be overwritten",
            remedy: "rotate the issuer where it is made (e.g. cert-manager renews it: `cmctl renew`)",
        },
        IssuerMalformed { message: String } = 1503 => {
            message: "{message}",
            cause: "the secret does not hold a readable issuer certificate and key (crt.pem, key.pem), so the trust \
             domain and the current state cannot be told",
            remedy: "restore the issuer (e.g. run the linkerd install operation again), then rotate",
        },
        IssuerMisnamed { message: String } = 1504 => {
            message: "{message}",
            cause: "the trust domain of the mesh cannot be told from the current issuer, and Linkerd's identity \
             controller expects that name",
            remedy: "restore an issuer named identity.linkerd.<trust domain> (e.g. by reinstalling), then rotate",
        },
        TrustRootsMissing { message: String } = 1505 => {
            message: "{message}",
            cause: "the control plane is installed but its trust roots were deleted",
            remedy: "run the linkerd install operation again to restore them, then rotate",
        },
        TrustRootsUnreadable { message: String } = 1506 => {
            message: "{message}",
            cause: "the trust roots ConfigMap does not hold PEM certificates under ca-bundle.crt",
            remedy: "restore the trust anchor bundle, then rotate",
        },
        AnchorConflict { message: String } = 1507 => {
            message: "{message}",
            cause: "the body asks both to sign with an existing anchor and to make a new one",
            remedy: "drop newTrustAnchor to sign with the given anchor, or drop the anchor to make a new one",
        },
        AnchorNotTrusted { message: String } = 1508 => {
            message: "{message}",
            cause: "an issuer signed by it would be refused by the identity controller and not trusted by the proxies",
            remedy: "give the certificate and key of an anchor in linkerd-identity-trust-roots, or leave them out to \
                 make a new trust anchor (kept alongside the old ones)",
        },
        NoAnchorKey { message: String } = 1509 => {
            message: "{message}",
            cause: "a normal Linkerd install does not keep the trust anchor's private key in the cluster",
            remedy: "give the anchor's certificate and key (trustAnchorCertPEM, trustAnchorKeyPEM), or allow a new \
                 trust anchor",
        },
        HalfAnchor { message: String } = 1510 => {
            message: "{message}",
            cause: "signing a new issuer needs the anchor's private key, and checking it needs its certificate",
            remedy: "give both trustAnchorCertPEM and trustAnchorKeyPEM (or paste both PEM blocks), or neither to \
                 make a new trust anchor",
        },
        RotateUnknownOption { message: String } = 1511 => {
            message: "{message}",
            cause: "rotate-identity-issuer reads trustAnchorCertPEM, trustAnchorKeyPEM, newTrustAnchor, \
                 issuerValidityDays and anchorValidityDays only",
            remedy: "remove the option or fix its spelling",
        },
        RotateBadOption { message: String, cause: String, remedy: String } = 1512 => {
            message: "{message}",
            cause: "{cause}",
            remedy: "{remedy}",
        },
        RotateBody { message: String } = 1513 => {
            message: "{message}",
            cause: "the custom body of rotate-identity-issuer is not in a form this operation reads",
            remedy: "{BODY_HELP}",
        },
        RotateNoUndo { message: String } = 1514 => {
            message: "{message}",
            cause: "the previous issuer's key is replaced and not kept anywhere",
            remedy: "run rotate-identity-issuer again (without delete) to issue another new issuer",
        },
        RotateBug { message: String } = 1515 => {
            message: "{message}",
            cause: "a bug in the plugin",
            remedy: "report it",
        },
    }
}
