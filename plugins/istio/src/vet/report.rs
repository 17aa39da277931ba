//! What the checks find, and how the whole analysis is summed up.

use wasmesh_sdk::Level;
use wasmesh_sdk::checks::Tally;
pub use wasmesh_sdk::checks::{Check, Finding};

pub use crate::errors::IstioError;

/// A problem as a WARN event: one of the `Vet*` variants of [`IstioError`] (codes 15xx).
pub fn warn(e: IstioError) -> Finding {
    Finding::problem(Level::Warn, e)
}

/// A problem as an ERROR event.
pub fn fail(e: IstioError) -> Finding {
    Finding::problem(Level::Error, e)
}

/// "3 findings (1 error, 2 warnings)".
pub fn tally(checks: &[Check]) -> String {
    Tally::of(checks).findings()
}

/// "namespace \"a\"", "namespaces a, b and c", with at most 10 names.
pub fn namespaces_phrase(names: &[String]) -> String {
    match names {
        [] => "no namespace besides the system ones".into(),
        [one] => format!("namespace \"{one}\""),
        _ => {
            let shown: Vec<&str> = names.iter().take(10).map(String::as_str).collect();
            let more = if names.len() > 10 {
                format!(" and {} more", names.len() - 10)
            } else {
                String::new()
            };
            format!("namespaces {}{more}", shown.join(", "))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tallies_and_phrases() {
        let c = Check::new(
            "x",
            String::new(),
            vec![
                fail(IstioError::VetMeshConflict {
                    names: "a".into(),
                    host: "h".into(),
                }),
                warn(IstioError::VetInjectorMissing),
                warn(IstioError::VetInjectorMissing),
            ],
        );
        assert_eq!(tally(std::slice::from_ref(&c)), "3 findings (1 error, 2 warnings)");
        assert_eq!(c.code_count("WASMESH-ISTIO-1503"), 2);
        assert_eq!(tally(&[]), "0 findings (0 errors, 0 warnings)");
        let one = Check::new("y", String::new(), vec![warn(IstioError::VetValidatorMissing)]);
        assert_eq!(tally(&[one]), "1 finding (0 errors, 1 warning)");
        assert_eq!(namespaces_phrase(&["a".into()]), "namespace \"a\"");
        assert_eq!(namespaces_phrase(&["a".into(), "b".into()]), "namespaces a, b");
        let many: Vec<String> = (0..12).map(|i| format!("n{i}")).collect();
        assert!(namespaces_phrase(&many).ends_with("n9 and 2 more"));
        assert_eq!(namespaces_phrase(&[]), "no namespace besides the system ones");
    }
}
