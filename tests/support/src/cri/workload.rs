//! The workload image: the project's static test workload
//! (tests/e2e/workload, `make workload`) alone in an image, packed by the
//! project's own packer (xtask) for this machine's architecture.

use crate::repo;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

pub struct Workload {
    pub reference: String,
    pub archive: PathBuf,
}

/// The workload binary: WORKLOAD_BIN, or where `make workload` puts it.
pub fn workload_bin() -> PathBuf {
    std::env::var_os("WORKLOAD_BIN")
        .map(PathBuf::from)
        .unwrap_or_else(|| repo::path("target/e2e/workload/workload"))
}

/// Packs the workload into `dir/workload.tar` (image pause-cri-workload:test,
/// only /workload, entrypoint /workload).
pub fn pack_workload(dir: &Path) -> Workload {
    let bin = workload_bin();
    let binary = std::fs::read(&bin)
        .unwrap_or_else(|e| panic!("{}: {e} (run `make workload`)", bin.display()));
    let opts = xtask::Options {
        epoch: 0,
        path: "/workload".into(),
        entrypoint: vec!["/workload".into()],
        user: "0:0".into(),
        labels: BTreeMap::new(),
        name: "localhost/pause-cri-workload".into(),
        tag: "test".into(),
        tool: "the CRI suite's workload image (test-support)".into(),
    };
    let built = xtask::build(
        &opts,
        &[xtask::Input {
            arch: repo::host_arch().into(),
            binary,
            source_name: "workload".into(),
        }],
    )
    .expect("pack workload image");
    let archive = dir.join("workload.tar");
    std::fs::write(&archive, built.archive).unwrap();
    Workload {
        reference: format!("{}:{}", opts.name, opts.tag),
        archive,
    }
}
