//! Kubernetes `Status` errors, shaped exactly like kube-apiserver sends them, so that clients
//! (kube-rs `Error::Api`, kubectl's error printer) see what they would see on a real cluster.

use serde_json::{Value, json};

/// One failed API call: the HTTP code plus the fields of the `Status` body.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{code} {reason}: {message}")]
pub struct ApiError {
    pub code: u16,
    pub reason: &'static str,
    pub message: String,
    /// `details` of the Status, when the real server sends one.
    pub details: Option<Value>,
}

impl ApiError {
    pub fn new(code: u16, reason: &'static str, message: impl Into<String>) -> Self {
        ApiError {
            code,
            reason,
            message: message.into(),
            details: None,
        }
    }

    fn with_details(mut self, details: Value) -> Self {
        self.details = Some(details);
        self
    }

    /// `configmaps "x" not found`; `resource` is the plural, `group` the API group ("" for core).
    pub fn not_found(group: &str, resource: &str, name: &str) -> Self {
        Self::new(
            404,
            "NotFound",
            format!("{} \"{name}\" not found", qualified(group, resource)),
        )
        .with_details(details(name, group, resource))
    }

    /// Unknown path or resource type.
    pub fn unknown_resource() -> Self {
        Self::new(404, "NotFound", "the server could not find the requested resource").with_details(json!({}))
    }

    pub fn already_exists(group: &str, resource: &str, name: &str) -> Self {
        Self::new(
            409,
            "AlreadyExists",
            format!("{} \"{name}\" already exists", qualified(group, resource)),
        )
        .with_details(details(name, group, resource))
    }

    /// A create in a namespace that is being deleted, as the NamespaceLifecycle admission
    /// plugin refuses it.
    pub fn namespace_terminating(group: &str, resource: &str, name: &str, namespace: &str) -> Self {
        let mut d = details(name, group, resource);
        d["causes"] = json!([{
            "reason": "NamespaceTerminating",
            "message": format!("namespace {namespace} is being terminated"),
            "field": "metadata.namespace",
        }]);
        Self::new(
            403,
            "Forbidden",
            format!(
                "{} \"{name}\" is forbidden: unable to create new content in namespace {namespace} because it is being terminated",
                qualified(group, resource)
            ),
        )
        .with_details(d)
    }

    /// Creating an object whose namespace and name belong to one that is being deleted.
    pub fn being_deleted(group: &str, resource: &str, name: &str) -> Self {
        Self::new(
            409,
            "AlreadyExists",
            format!(
                "object is being deleted: {} \"{name}\" already exists",
                qualified(group, resource)
            ),
        )
        .with_details(details(name, group, resource))
    }

    /// Stale resourceVersion precondition.
    pub fn conflict(group: &str, resource: &str, name: &str) -> Self {
        Self::new(
            409,
            "Conflict",
            format!(
                "Operation cannot be fulfilled on {} \"{name}\": the object has been modified; please apply your changes to the latest version and try again",
                qualified(group, resource)
            ),
        )
        .with_details(details(name, group, resource))
    }

    /// Server-side apply conflict; `causes` are (manager description, field path).
    pub fn apply_conflict(message: String, causes: Vec<(String, String)>) -> Self {
        let causes: Vec<Value> = causes
            .into_iter()
            .map(|(manager, field)| {
                json!({"reason": "FieldManagerConflict", "message": format!("conflict with {manager}"), "field": field})
            })
            .collect();
        Self::new(409, "Conflict", message).with_details(json!({ "causes": causes }))
    }

    /// 422 with one field cause: `ConfigMap "x" is invalid: metadata.name: Required value: ...`.
    pub fn invalid(group: &str, kind: &str, name: &str, field: &str, cause_reason: &str, detail: &str) -> Self {
        Self::new(
            422,
            "Invalid",
            format!("{kind} \"{name}\" is invalid: {field}: {detail}"),
        )
        .with_details(json!({
            "name": name,
            "group": group,
            "kind": kind,
            "causes": [{"reason": cause_reason, "message": detail, "field": field}],
        }))
    }

    /// `configmaps "x" is forbidden: User "u" cannot get resource "configmaps" in API group "" in the namespace "ns"`.
    pub fn forbidden(group: &str, resource: &str, name: &str, reason: String) -> Self {
        let subject = if name.is_empty() {
            qualified(group, resource)
        } else {
            format!("{} \"{name}\"", qualified(group, resource))
        };
        let kind = resource.split('/').next().unwrap_or(resource);
        Self::new(403, "Forbidden", format!("{subject} is forbidden: {reason}"))
            .with_details(details(name, group, kind))
    }

    pub fn unauthorized() -> Self {
        Self::new(401, "Unauthorized", "Unauthorized")
    }

    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::new(400, "BadRequest", message)
    }

    pub fn method_not_allowed() -> Self {
        Self::new(
            405,
            "MethodNotAllowed",
            "the server does not allow this method on the requested resource",
        )
        .with_details(json!({}))
    }

    pub fn unsupported_media_type(content_type: &str) -> Self {
        Self::new(
            415,
            "UnsupportedMediaType",
            format!(
                "the body of the request was in an unknown format - accepted media types include: application/json-patch+json, application/merge-patch+json, application/apply-patch+yaml, application/strategic-merge-patch+json; got {content_type:?}"
            ),
        )
    }

    /// A generic failure for fault injection, with the reason the real server uses for that code.
    pub fn from_code(code: u16) -> Self {
        let reason = match code {
            400 => "BadRequest",
            401 => "Unauthorized",
            403 => "Forbidden",
            404 => "NotFound",
            409 => "Conflict",
            410 => "Expired",
            422 => "Invalid",
            429 => "TooManyRequests",
            500 => "InternalError",
            503 => "ServiceUnavailable",
            504 => "Timeout",
            _ => "Unknown",
        };
        Self::new(code, reason, format!("injected failure ({code})"))
    }

    /// The Status body.
    pub fn to_status(&self) -> Value {
        let mut status = json!({
            "kind": "Status",
            "apiVersion": "v1",
            "metadata": {},
            "status": "Failure",
            "message": self.message,
            "reason": self.reason,
            "code": self.code,
        });
        if let Some(details) = &self.details {
            status["details"] = details.clone();
        }
        status
    }
}

/// `configmaps` for the core group, `deployments.apps` otherwise (kube-apiserver's GroupResource.String()).
pub fn qualified(group: &str, resource: &str) -> String {
    if group.is_empty() {
        resource.to_string()
    } else {
        format!("{resource}.{group}")
    }
}

fn details(name: &str, group: &str, kind: &str) -> Value {
    let mut d = json!({ "kind": kind });
    if !name.is_empty() {
        d["name"] = json!(name);
    }
    if !group.is_empty() {
        d["group"] = json!(group);
    }
    d
}
