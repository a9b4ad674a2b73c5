//! How each shipped architecture is compiled: its Rust target, and whether
//! its `core` library comes prebuilt with the toolchain or is compiled from
//! the toolchain's source. The Makefile's `target_<arch>` and
//! `SOURCE_CORE_TARGETS` say the same; the provenance records these facts.

/// The Rust target `arch` (a `size::ARCHES` name) is built for.
pub fn rust_target(arch: &str) -> Option<&'static str> {
    Some(match arch {
        "amd64" => "x86_64-unknown-linux-gnu",
        "arm64" => "aarch64-unknown-linux-gnu",
        "arm" | "arm/v7" => "armv7-unknown-linux-gnueabihf",
        "ppc64le" => "powerpc64le-unknown-linux-gnu",
        "s390x" => "s390x-unknown-linux-gnu",
        "riscv64" => "riscv64gc-unknown-linux-gnu",
        "loong64" => "loongarch64-unknown-linux-gnu",
        "arm/v6" => "arm-unknown-linux-gnueabihf",
        _ => return None,
    })
}

/// True where rustup has no prebuilt `core`, so `make build` compiles it
/// from rust-src with `-Zbuild-std=core`.
pub fn core_from_source(arch: &str) -> bool {
    matches!(arch, "loong64" | "arm/v6")
}
