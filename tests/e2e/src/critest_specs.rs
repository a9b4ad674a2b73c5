//! tests/critest/skip.toml: the critest specs `make test-critest` skips,
//! and those it runs apart with ginkgo's retries, each with why and on
//! which runtimes.

use std::path::PathBuf;

/// The runtimes' names in tests/critest/skip.toml.
pub const RUNTIMES: [&str; 3] = ["containerd-1.7", "containerd-2.1", "crio"];

/// One entry: a spec pattern (a regular expression on the spec's full
/// name), why, the runtimes it applies to (all if none are named) and, for
/// a rerun, how many attempts it gets.
#[derive(serde::Deserialize)]
pub struct Entry {
    pub spec: String,
    pub reason: String,
    #[serde(default)]
    pub runtimes: Vec<String>,
    #[serde(default)]
    pub attempts: u32,
}

impl Entry {
    fn applies_to(&self, runtime: &str) -> bool {
        self.runtimes.is_empty() || self.runtimes.iter().any(|r| r == runtime)
    }
}

/// The whole file.
#[derive(serde::Deserialize)]
pub struct List {
    #[serde(default)]
    pub skip: Vec<Entry>,
    #[serde(default)]
    pub rerun: Vec<Entry>,
}

impl List {
    pub fn path() -> PathBuf {
        test_support::repo::path("tests/critest/skip.toml")
    }

    /// Reads and checks the file: every entry has a reason and names only
    /// known runtimes, every rerun more than one attempt.
    pub fn read() -> List {
        let path = List::path();
        let text =
            std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let list: List =
            toml::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        for entry in list.skip.iter().chain(&list.rerun) {
            assert!(!entry.reason.trim().is_empty(), "{}: no reason", entry.spec);
            for runtime in &entry.runtimes {
                assert!(
                    RUNTIMES.contains(&runtime.as_str()),
                    "{}: unknown runtime {runtime}",
                    entry.spec
                );
            }
        }
        for entry in &list.rerun {
            assert!(
                entry.attempts > 1,
                "{}: a rerun needs attempts > 1",
                entry.spec
            );
        }
        list
    }

    /// The patterns of the specs skipped on `runtime`.
    pub fn skipped_on(&self, runtime: &str) -> Vec<&str> {
        let on = self.skip.iter().filter(|e| e.applies_to(runtime));
        on.map(|e| e.spec.as_str()).collect()
    }

    /// The specs run apart, with retries, on `runtime`.
    pub fn rerun_on(&self, runtime: &str) -> Vec<&Entry> {
        self.rerun
            .iter()
            .filter(|e| e.applies_to(runtime))
            .collect()
    }
}
