//! What each shipped binary may weigh. The one place the budgets are written:
//! `cargo xtask size` checks `bin/` against them and the benchmark report
//! prints them.

/// The byte budget of `bin/pause-linux-<arch>`. amd64 is held tighter than
/// the RISC targets, whose fixed-width instructions and (on ppc64) traceback
/// tables cost more bytes for the same code.
pub fn budget(arch: &str) -> u64 {
    match arch {
        "amd64" => 1536,
        _ => 2048,
    }
}
