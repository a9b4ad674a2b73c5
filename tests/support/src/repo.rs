//! Paths in the repository, whichever crate or directory a test runs from.

use std::path::{Path, PathBuf};

/// The repository root (this crate is `tests/support`).
pub fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .canonicalize()
        .expect("repository root")
}

/// A path relative to the repository root.
pub fn path(relative: &str) -> PathBuf {
    root().join(relative)
}

/// The root package's version, as the Makefile and the image tag use it.
pub fn version() -> String {
    let toml = std::fs::read_to_string(path("Cargo.toml")).expect("Cargo.toml");
    toml.lines()
        .find_map(|l| l.strip_prefix("version = \""))
        .and_then(|v| v.strip_suffix('"'))
        .expect("version in Cargo.toml")
        .to_string()
}

/// The project's multi-architecture OCI archive (`make oci`), or
/// `PAUSE_OCI_ARCHIVE` when set.
pub fn pause_archive() -> PathBuf {
    std::env::var_os("PAUSE_OCI_ARCHIVE")
        .map(PathBuf::from)
        .unwrap_or_else(|| path("bin/pause-oci.tar"))
}

/// [`pause_archive`], which a suite needs built: a missing one is a failure
/// that says how to make it.
pub fn built_pause_archive() -> PathBuf {
    let archive = pause_archive();
    assert!(
        archive.is_file(),
        "{} missing: run `make oci` (or the suite's make target)",
        archive.display()
    );
    archive
}

/// This machine's architecture as Kubernetes (and the binaries' names in
/// `bin/`) spell it.
pub fn host_arch() -> &'static str {
    match std::env::consts::ARCH {
        "x86_64" => "amd64",
        "aarch64" => "arm64",
        "arm" => "arm",
        "powerpc64" => "ppc64le",
        "s390x" => "s390x",
        "riscv64" => "riscv64",
        "loongarch64" => "loong64",
        other => panic!("unsupported architecture {other}"),
    }
}

/// A program tests/debian-pins.txt pins, as `make deps-pinned` unpacks it:
/// `target/debian/NAME/usr/bin/NAME` (oras, cosign).
pub fn pinned(name: &str) -> PathBuf {
    path(&format!("target/debian/{name}/usr/bin/{name}"))
}

/// A Go program tests/go/pins.txt pins, as `make deps-go` builds it.
pub fn go_tool(name: &str) -> PathBuf {
    path(&format!("target/go/{name}/bin/{name}"))
}
