//! `cargo xtask oci`: bin/pause-oci.tar, the release artefact. One image
//! index for every architecture; the same commit gives the same bytes.

use crate::{archive, attest, project};
use lexopt::{Arg, Parser, ValueExt};
use std::collections::BTreeMap;
use std::path::PathBuf;
use xtask::Options;

/// What a user may override; None takes the project's value.
#[derive(Default)]
struct Flags {
    out: Option<PathBuf>,
    bin_dir: Option<PathBuf>,
    name: Option<String>,
    source: Option<String>,
    revision: Option<String>,
    epoch: Option<i64>,
}

pub fn run(args: &mut Parser) -> xtask::Result<()> {
    let flags = parse(args)?;
    let out = flags
        .out
        .clone()
        .unwrap_or_else(|| project::bin_dir().join("pause-oci.tar"));
    let bin_dir = flags.bin_dir.clone().unwrap_or_else(project::bin_dir);
    let opts = options(flags)?;
    let inputs = project::ARCHES
        .iter()
        .map(|arch| archive::input(arch, &project::binary(&bin_dir, arch)))
        .collect::<xtask::Result<Vec<_>>>()
        .map_err(|e| format!("{e} (`make build` writes the binaries)"))?;
    let label = |key: &str| {
        let value = opts.labels.get(&format!("org.opencontainers.image.{key}"));
        value.cloned().unwrap_or_default()
    };
    let facts = attest::Facts::gather(&opts, &label("source"), &label("revision"))?;
    archive::write(&out, &opts, &inputs, &facts)
}

fn parse(args: &mut Parser) -> xtask::Result<Flags> {
    let mut flags = Flags::default();
    while let Some(arg) = args.next()? {
        match arg {
            Arg::Short('h') | Arg::Long("help") => return Err(crate::Help(crate::USAGE).into()),
            Arg::Long("out") => flags.out = Some(args.value()?.into()),
            Arg::Long("bin-dir") => flags.bin_dir = Some(args.value()?.into()),
            Arg::Long("name") => flags.name = Some(args.value()?.string()?),
            Arg::Long("source") => flags.source = Some(args.value()?.string()?),
            Arg::Long("revision") => flags.revision = Some(args.value()?.string()?),
            Arg::Long("epoch") => flags.epoch = Some(project::epoch_flag(args)?),
            other => return Err(other.unexpected().into()),
        }
    }
    Ok(flags)
}

/// The project's image, with the user's overrides. The version tags the
/// image and labels it; the labels are the OCI annotation keys registries show.
fn options(flags: Flags) -> xtask::Result<Options> {
    let package = project::package()?;
    let revision = flags.revision.unwrap_or_else(project::revision);
    let source = match flags.source {
        // Given empty: no source label.
        Some(text) if text.is_empty() => None,
        Some(text) => Some(project::source_url(&text).map_err(crate::Usage)?),
        None => project::source(),
    };
    let from_dockerfile =
        |key: &str| project::dockerfile_label(&format!("org.opencontainers.image.{key}"));
    let labels = [
        ("title", Some(from_dockerfile("title")?)),
        ("description", Some(from_dockerfile("description")?)),
        ("source", source),
        ("version", Some(package.version.clone())),
        ("revision", Some(revision)),
        ("licenses", Some(package.license)),
    ];
    let labels: BTreeMap<String, String> = labels
        .into_iter()
        .filter_map(|(key, value)| Some((format!("org.opencontainers.image.{key}"), value?)))
        .collect();
    Ok(Options {
        epoch: flags.epoch.map_or_else(project::epoch, Ok)?,
        path: project::PATH.into(),
        entrypoint: vec![project::PATH.into()],
        user: project::USER.into(),
        labels,
        name: flags.name.unwrap_or_else(|| project::NAME.into()),
        tag: package.version,
        tool: format!(
            "make oci (cargo xtask oci, xtask {})",
            env!("CARGO_PKG_VERSION")
        ),
    })
}
