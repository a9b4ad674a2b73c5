//! What a test does when this machine lacks something it needs. Elsewhere it
//! says so and skips; in CI (`CI` set and not empty) that would let a suite
//! pass without running, so it fails instead.

pub fn in_ci() -> bool {
    std::env::var_os("CI").is_some_and(|v| !v.is_empty())
}

/// Checks a prerequisite and returns whether the test can go on. When `ok`
/// is false it panics in CI and prints `SKIPPED` elsewhere.
pub fn require(ok: bool, what: &str) -> bool {
    if !ok {
        if in_ci() {
            panic!("required in CI: {what}");
        }
        eprintln!("SKIPPED (not in CI): {what}");
    }
    ok
}

/// `require` for a reason already known to hold.
pub fn cannot_run(why: &str) {
    require(false, why);
}

pub fn is_root() -> bool {
    nix::unistd::geteuid().is_root()
}

/// The first `tool` on PATH or in the sbin directories (root's tools are
/// there and a test may run with a user's PATH).
pub fn which(tool: &str) -> Option<std::path::PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .chain(["/usr/sbin".into(), "/sbin".into()])
        .map(|d| d.join(tool))
        .find(|p| p.is_file())
}
