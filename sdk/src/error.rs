use crate::Error;

/// Builds the typed error every translator failure carries.
pub fn error(
    code: impl Into<String>,
    message: impl Into<String>,
    probable_cause: impl Into<String>,
    suggested_remediation: impl Into<String>,
) -> Error {
    Error {
        code: code.into(),
        message: message.into(),
        probable_cause: probable_cause.into(),
        suggested_remediation: suggested_remediation.into(),
    }
}
