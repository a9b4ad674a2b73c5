//! What ships, and what each shipped binary may weigh. The one place both
//! are written: `cargo xtask oci` packs these binaries, `cargo xtask size`
//! checks `bin/` against the budgets, and the benchmark report prints them.

/// The architectures shipped, as Kubernetes names them (`arm` is arm/v7), in
/// the order the archive lists them (the order is part of its bytes).
pub const ARCHES: [&str; 8] = [
    "amd64", "arm64", "arm", "ppc64le", "s390x", "riscv64", "loong64", "arm/v6",
];

/// How `bin/` names `arch`: `arm-v6` for `arm/v6`, the others as they are.
pub fn file_arch(arch: &str) -> String {
    arch.replace('/', "-")
}

/// The byte budget of `bin/pause-linux-<arch>`. amd64 is held tighter than
/// the RISC targets, whose fixed-width instructions and (on ppc64) traceback
/// tables cost more bytes for the same code.
pub fn budget(arch: &str) -> u64 {
    match arch {
        "amd64" => 1536,
        _ => 2048,
    }
}
