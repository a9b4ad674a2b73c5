//! Which containerd a node runs and in which config dialect: Debian 12's own
//! 1.6, or a version that tests/debian-pins.txt pins (as `containerd-SERIES`)
//! and tests/scripts/debian-pins.sh unpacks under target/debian/.

use crate::repo;
use std::path::PathBuf;

/// The file that pins the fetched containerd versions.
pub const PINS: &str = "tests/debian-pins.txt";

/// How a node's config names the sandbox image, and how it keeps pulls away
/// from every real registry.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Dialect {
    /// Config version 2 with deploy/containerd/sandbox-image.toml merged in
    /// (containerd 1.6 and 1.7).
    SandboxImage,
    /// Config version 3 with deploy/containerd/pinned-images-v3.toml merged
    /// in (containerd 2.x).
    PinnedImagesV3,
    /// Config version 2 with deploy/kind/kind-config.yaml's
    /// containerdConfigPatches merged in, as kind writes its nodes' config;
    /// containerd 2.x migrates it to version 3 when it loads it.
    KindPatch,
}

/// One entry of the matrix: a containerd series and a config dialect.
#[derive(Clone, Copy, Debug)]
pub struct Containerd {
    /// "1.6" (the system's), or a series pinned in [`PINS`].
    pub series: &'static str,
    pub dialect: Dialect,
}

impl Containerd {
    /// Debian 12's containerd with the 1.6/1.7 recipe: what the benches use.
    pub const SYSTEM: Containerd = Containerd {
        series: "1.6",
        dialect: Dialect::SandboxImage,
    };

    pub const fn new(series: &'static str, dialect: Dialect) -> Containerd {
        Containerd { series, dialect }
    }

    /// Whether this is the system's containerd (on PATH, from `make deps`).
    fn is_system(&self) -> bool {
        self.series == Self::SYSTEM.series
    }

    /// Registry hosts come from hosts.toml files (`config_path`), as kind's
    /// nodes and containerd 2.x configs have them; 1.6 keeps the
    /// `registry.mirrors` table (deprecated since 1.5), as 1.6-era nodes do.
    pub fn uses_hosts_toml(&self) -> bool {
        !self.is_system()
    }

    /// The exact Debian package version [`PINS`] gives this series; None for
    /// the system's containerd.
    pub fn pinned_version(&self) -> Option<String> {
        if self.is_system() {
            return None;
        }
        let pins = std::fs::read_to_string(repo::path(PINS)).expect(PINS);
        let version = pins
            .lines()
            .map(|l| l.split('#').next().unwrap_or_default())
            .map(|l| l.split_whitespace().collect::<Vec<_>>())
            .find(|cols| cols.first() == Some(&self.pin_name().as_str()))
            .and_then(|cols| cols.get(3).map(|v| v.to_string()));
        Some(version.unwrap_or_else(|| panic!("{PINS} pins no containerd {}", self.series)))
    }

    /// This version's name in [`PINS`].
    pub fn pin_name(&self) -> String {
        format!("containerd-{}", self.series)
    }

    /// The directory holding this version's containerd,
    /// containerd-shim-runc-v2 and ctr; None means the ones on PATH.
    pub fn bin_dir(&self) -> Option<PathBuf> {
        self.pinned_version()
            .map(|_| repo::path(&format!("target/debian/{}/usr/bin", self.pin_name())))
    }

    /// One of this version's binaries: from [`Self::bin_dir`], else PATH.
    pub fn binary(&self, name: &str) -> PathBuf {
        self.bin_dir()
            .map(|d| d.join(name))
            .unwrap_or_else(|| name.into())
    }

    /// Why this version cannot run here, if it cannot.
    pub fn missing(&self) -> Option<String> {
        let dir = self.bin_dir()?;
        let tools = ["containerd", "containerd-shim-runc-v2", "ctr"];
        tools
            .iter()
            .map(|t| dir.join(t))
            .find(|p| !p.is_file())
            .map(|p| {
                format!(
                    "containerd {}: {} missing: run `make deps-pinned`",
                    self.series,
                    p.display()
                )
            })
    }
}
