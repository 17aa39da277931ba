//! Progress that reaches Meshery as events while the translator works (a health check's
//! findings, a warning). Natively (unit tests) the reports are kept by
//! [`testing::Harness`](crate::testing::Harness).

use crate::{Error, Level};

/// An event with a summary and details.
pub fn report(level: Level, summary: &str, details: &str) {
    #[cfg(target_family = "wasm")]
    crate::bindings::wasmesh::adapter::progress::report(level, summary, details);
    #[cfg(not(target_family = "wasm"))]
    crate::testing::report(level, summary, details, None);
}

/// A finding with a code, cause and remediation (WARN or ERROR).
pub fn report_error(level: Level, error: &Error) {
    #[cfg(target_family = "wasm")]
    crate::bindings::wasmesh::adapter::progress::report_error(level, error);
    #[cfg(not(target_family = "wasm"))]
    crate::testing::report(level, &error.message, "", Some(error));
}
