//! Sizes: the project's binary for every architecture, each peer's binary,
//! and each peer's image packed the way the project packs itself.

use crate::{Bench, Measured, image};
use std::path::Path;
use test_support::repo;

pub struct Sizes {
    /// Bytes of `bin/pause-linux-<arch>`, for each architecture built.
    pub arch_sizes: Vec<(String, u64)>,
    /// The project's `make oci` archive (as named in the report) and its
    /// figures, when there is one.
    pub oci_archive: Option<(String, Result<image::ImageBytes, String>)>,
}

impl Sizes {
    /// For a run that measures no size.
    pub fn none() -> Sizes {
        Sizes {
            arch_sizes: Vec::new(),
            oci_archive: None,
        }
    }
}

pub fn measure(b: &Bench, m: &mut [Measured]) -> Sizes {
    b.step("binary and image bytes");
    let arch_sizes = xtask::size::ARCHES
        .iter()
        .map(|a| xtask::size::file_arch(a))
        .filter_map(|a| {
            let f = b.args.bin_dir.join(format!("pause-linux-{a}"));
            std::fs::metadata(&f).ok().map(|md| (a, md.len()))
        })
        .collect();
    for (p, x) in b.peers.iter().zip(m.iter_mut()) {
        x.binary_bytes = std::fs::metadata(&p.path).ok().map(|md| md.len());
        match image::figures_of_peer(p, &b.args.arch) {
            Ok((bytes, archive)) => {
                x.image = Some(bytes);
                // Kept with the run's other files for inspection.
                let _ = std::fs::write(b.tmp.join(format!("{}-oci.tar", p.key)), archive);
            }
            Err(e) => x.errors.push(format!("image: {e}")),
        }
    }
    let archive = &b.args.oci_archive;
    let oci_archive = archive.is_file().then(|| {
        (
            shown(archive),
            image::inspect_archive(archive, &b.args.arch),
        )
    });
    Sizes {
        arch_sizes,
        oci_archive,
    }
}

/// A path as the report names it: relative to the repository when inside it.
fn shown(path: &Path) -> String {
    let root = repo::root();
    path.strip_prefix(&root)
        .unwrap_or(path)
        .display()
        .to_string()
}
