//! The steps `oci` and `pack` share: read the binaries, pack, write, report.

use std::path::Path;
use xtask::{Input, Options};

/// One architecture's binary, read from `file`. Only its bytes and its file
/// name enter the archive: never its mode, owner or time.
pub fn input(arch: &str, file: &Path) -> xtask::Result<Input> {
    let binary = std::fs::read(file).map_err(|e| format!("{}: {e}", file.display()))?;
    let source_name = file
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    Ok(Input {
        arch: arch.into(),
        binary,
        source_name,
    })
}

/// Packs `inputs` into `out`, then prints the archive's path, the image
/// index digest and one line per platform.
pub fn write(
    out: &Path,
    opts: &Options,
    inputs: &[Input],
    attest: &dyn xtask::Attest,
) -> xtask::Result<()> {
    let built = xtask::build_attested(opts, inputs, attest)?;
    // Write beside the target, then rename: a reader never sees half an archive.
    let partial = out.with_extension("tar.partial");
    std::fs::write(&partial, &built.archive).map_err(|e| format!("{}: {e}", partial.display()))?;
    std::fs::rename(&partial, out)?;
    println!(
        "{} {} ({} bytes, {}:{})",
        crate::project::shown(out),
        built.index_digest,
        built.archive.len(),
        opts.name,
        opts.tag
    );
    let show = |referrers: &[xtask::Referrer]| {
        for referrer in referrers {
            println!(
                "    {:<30} {}",
                referrer.artifact_type, referrer.manifest_digest
            );
        }
    };
    show(&built.referrers);
    for image in &built.images {
        println!("  {:<16} {}", image.platform, image.manifest_digest);
        show(&image.referrers);
    }
    Ok(())
}
