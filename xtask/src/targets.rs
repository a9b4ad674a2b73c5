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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::size::{ARCHES, file_arch};

    /// The Makefile builds what the provenance says was built: its
    /// `target_<arch>` lines and `SOURCE_CORE_TARGETS` agree with this file.
    #[test]
    fn the_makefile_builds_each_arch_for_the_same_target() {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../Makefile");
        let makefile = std::fs::read_to_string(path).expect(path);
        let assigned = |name: &str| {
            makefile.lines().find_map(|l| {
                let (key, value) = l.split_once(":=")?;
                (key.trim() == name).then(|| value.trim().to_string())
            })
        };
        let from_source = assigned("SOURCE_CORE_TARGETS").expect("SOURCE_CORE_TARGETS");
        let from_source: Vec<&str> = from_source.split_whitespace().collect();
        for arch in ARCHES {
            let name = file_arch(arch);
            assert_eq!(
                assigned(&format!("target_{name}")).as_deref(),
                rust_target(arch),
                "Makefile's target_{name}"
            );
            assert_eq!(
                from_source.contains(&name.as_ref()),
                core_from_source(arch),
                "{arch} in SOURCE_CORE_TARGETS"
            );
        }
    }
}
