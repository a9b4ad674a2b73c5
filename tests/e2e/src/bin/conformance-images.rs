//! `conformance-images DIR`: writes the conformance suite's images
//! (pause_e2e::conformance_images) into DIR as OCI archives, one line per
//! image on stdout: its reference, its archive and what it is built from.
//! `xtask/scripts/push.sh ARCHIVE REGISTRY` publishes each.

use pause_e2e::conformance_images::{Inputs, build_all};
use std::process::ExitCode;

fn main() -> ExitCode {
    let Some(dir) = std::env::args_os().nth(1) else {
        eprintln!("usage: conformance-images DIR");
        return ExitCode::from(2);
    };
    let dir = std::path::PathBuf::from(dir);
    if let Err(e) = std::fs::create_dir_all(&dir) {
        eprintln!("conformance-images: {}: {e}", dir.display());
        return ExitCode::FAILURE;
    }
    match build_all(&Inputs::of_this_repo(), &dir) {
        Ok(images) => {
            for (image, archive) in images {
                println!(
                    "{}\t{}\t{}",
                    image.reference(),
                    archive.display(),
                    image.built_from
                );
            }
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("conformance-images: {e}");
            ExitCode::FAILURE
        }
    }
}
