//! Health reports (a mesh's check, a configuration vet): one model for every translator.
//!
//! A [`Finding`] is what one check found: a pass (INFO with a summary and details) or a problem
//! (WARN or ERROR with a code, cause and remedy). A [`Check`] groups the findings of one check
//! that may find many problems (one per pod, per route), with the INFO said when it finds
//! nothing. A [`Tally`] counts passes, warnings and failures. Reports reach Meshery as progress
//! events ([`Finding::report`], [`Check::report`]); the plan of a check writes nothing.
//!
//! ```
//! use wasmesh_sdk::checks::{Check, Finding, Tally};
//! use wasmesh_sdk::{Level, error};
//!
//! let proxies = Check::new(
//!     "proxies",
//!     "2 pods",
//!     vec![Finding::problem(Level::Warn, error("WASMESH-MYMESH-1510", "pod a has no proxy", "c", "r"))],
//! );
//! let mut tally = Tally::default();
//! tally.add(&Finding::pass("the control plane is installed", "ConfigMap mesh/config"));
//! tally.add_check(&proxies);
//! assert_eq!((tally.passed, tally.warnings, tally.failed), (1, 1, 0));
//! assert_eq!(tally.findings(), "1 finding (0 errors, 1 warning)");
//! ```

use crate::{Error, Level};

/// What one check found.
#[derive(Clone, Debug)]
pub struct Finding {
    pub level: Level,
    /// The event's summary (a problem's is its error's message).
    pub summary: String,
    pub details: String,
    /// A problem's code, cause and remedy; None for a pass.
    pub error: Option<Error>,
}

impl Finding {
    /// A check that passed: an INFO event.
    pub fn pass(summary: impl Into<String>, details: impl Into<String>) -> Finding {
        Finding {
            level: Level::Info,
            summary: summary.into(),
            details: details.into(),
            error: None,
        }
    }

    /// A problem: a WARN or ERROR event with the error's code, cause and remedy.
    pub fn problem(level: Level, error: impl Into<Error>) -> Finding {
        let error = error.into();
        Finding {
            level,
            summary: error.message.clone(),
            details: String::new(),
            error: Some(error),
        }
    }

    /// An ERROR for a check that could not read what it needs (a read outside the grant, say),
    /// with the read's own code: "`what`: <the read's message>".
    pub fn unreadable(what: &str, e: Error) -> Finding {
        let message = format!("{what}: {}", e.message);
        Finding::problem(Level::Error, Error { message, ..e })
    }

    /// The problem's code.
    pub fn code(&self) -> Option<&str> {
        self.error.as_ref().map(|e| e.code.as_str())
    }

    /// Says the finding as a progress event.
    pub fn report(&self) {
        match &self.error {
            None => crate::progress::report(self.level, &self.summary, &self.details),
            Some(e) => crate::progress::report_error(self.level, e),
        }
    }
}

/// A check that may find many problems, said as one INFO when it finds none.
#[derive(Clone, Debug)]
pub struct Check {
    /// Short name, as events show it ("sidecar injection").
    pub name: String,
    /// What the check looked at: the details of its INFO event.
    pub details: String,
    /// Its problems (WARN or ERROR findings).
    pub findings: Vec<Finding>,
    /// Say `details` in an INFO event even when there are findings (a control plane's health).
    pub always_inform: bool,
}

/// Findings one check reports one by one; the rest are counted in one more event, so that all
/// checks together stay below the host's limit of reports per call.
pub const MAX_EVENTS_PER_CHECK: usize = 100;

impl Check {
    pub fn new(name: impl Into<String>, details: impl Into<String>, findings: Vec<Finding>) -> Check {
        Check {
            name: name.into(),
            details: details.into(),
            findings,
            always_inform: false,
        }
    }

    /// How many findings have this code.
    pub fn code_count(&self, code: &str) -> usize {
        self.findings.iter().filter(|f| f.code() == Some(code)).count()
    }

    /// The events of the check, `tool` naming the operation ("istio-vet"): an INFO "no problems
    /// found" for a clean check; else the INFO of `always_inform`, one event per finding (at
    /// most [`MAX_EVENTS_PER_CHECK`]) and a WARN counting the rest.
    pub fn events(&self, tool: &str) -> Vec<Finding> {
        if self.findings.is_empty() {
            return vec![Finding::pass(
                format!("{tool}: {}: no problems found", self.name),
                self.details.clone(),
            )];
        }
        let mut out = Vec::new();
        if self.always_inform {
            out.push(Finding::pass(format!("{tool}: {}: {}", self.name, self.details), ""));
        }
        out.extend(self.findings.iter().take(MAX_EVENTS_PER_CHECK).cloned());
        let rest = self.findings.len().saturating_sub(MAX_EVENTS_PER_CHECK);
        if rest > 0 {
            out.push(Finding {
                level: Level::Warn,
                summary: format!(
                    "{tool}: {}: {rest} more findings not shown one by one ({} in all); fix the ones shown and run \
                     {tool} again to see the rest",
                    self.name,
                    self.findings.len()
                ),
                details: self.details.clone(),
                error: None,
            });
        }
        out
    }

    /// Says [`Check::events`] as progress events.
    pub fn report(&self, tool: &str) {
        for e in self.events(tool) {
            e.report();
        }
    }
}

/// Counts of passed checks, warnings and failures.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Tally {
    pub passed: usize,
    pub warnings: usize,
    pub failed: usize,
}

impl Tally {
    /// Counts one finding: a pass, a warning or a failure.
    pub fn add(&mut self, f: &Finding) {
        match f.level {
            Level::Info => self.passed += 1,
            Level::Warn => self.warnings += 1,
            Level::Error => self.failed += 1,
        }
    }

    /// Counts a check: passed when it has no findings, else each finding.
    pub fn add_check(&mut self, c: &Check) {
        if c.findings.is_empty() {
            self.passed += 1;
        }
        for f in &c.findings {
            self.add(f);
        }
    }

    /// Tallies checks.
    pub fn of(checks: &[Check]) -> Tally {
        let mut t = Tally::default();
        for c in checks {
            t.add_check(c);
        }
        t
    }

    /// "3 findings (1 error, 2 warnings)".
    pub fn findings(&self) -> String {
        let n = self.warnings + self.failed;
        format!(
            "{} ({}, {})",
            plural(n, "finding", "findings"),
            plural(self.failed, "error", "errors"),
            plural(self.warnings, "warning", "warnings")
        )
    }

    /// "`tool`: 12 passed, 1 warning, 0 failed".
    pub fn checks(&self, tool: &str) -> String {
        format!(
            "{tool}: {} passed, {} warning{}, {} failed",
            self.passed,
            self.warnings,
            if self.warnings == 1 { "" } else { "s" },
            self.failed
        )
    }
}

fn plural(n: usize, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error;

    fn warn(code: &str) -> Finding {
        Finding::problem(Level::Warn, error(code, "w", "c", "r"))
    }

    #[test]
    fn clean_checks_say_so_and_long_ones_are_cut() {
        let clean = Check::new("ports", "3 services", vec![]);
        let e = clean.events("vet");
        assert_eq!(e.len(), 1);
        assert_eq!(
            (e[0].level, e[0].summary.as_str()),
            (Level::Info, "vet: ports: no problems found")
        );
        let mut many = Check::new("pods", "all", (0..105).map(|_| warn("X-1")).collect());
        many.always_inform = true;
        let e = many.events("vet");
        assert_eq!(e.len(), 1 + MAX_EVENTS_PER_CHECK + 1);
        assert_eq!(e[0].summary, "vet: pods: all");
        assert!(
            e.last().unwrap().summary.contains("5 more findings"),
            "{}",
            e.last().unwrap().summary
        );
        assert_eq!(many.code_count("X-1"), 105);
    }

    #[test]
    fn tallies_count_passes_warnings_and_failures() {
        let c = Check::new(
            "x",
            "",
            vec![
                Finding::problem(Level::Error, error("X-2", "e", "c", "r")),
                warn("X-1"),
                warn("X-1"),
            ],
        );
        let t = Tally::of(&[c, Check::new("y", "", vec![])]);
        assert_eq!(
            t,
            Tally {
                passed: 1,
                warnings: 2,
                failed: 1
            }
        );
        assert_eq!(t.findings(), "3 findings (1 error, 2 warnings)");
        assert_eq!(t.checks("check"), "check: 1 passed, 2 warnings, 1 failed");
        let u = Finding::unreadable(
            "the CRDs could not be read",
            error("WASMESH-CAP-DENIED", "denied", "c", "r"),
        );
        assert_eq!((u.level, u.code()), (Level::Error, Some("WASMESH-CAP-DENIED")));
        assert_eq!(u.summary, "the CRDs could not be read: denied");
    }
}
