//! pause-oci: writes a reproducible OCI image archive from static binaries.
//!
//! ```text
//! pause-oci --out bin/pause-oci.tar [--name docker.io/library/pause] [--tag 0.1.0]
//!           [--epoch SECS | env SOURCE_DATE_EPOCH] [--path /pause] [--entrypoint '["/pause"]']
//!           [--user 65535:65535] [--label KEY=VALUE]... ARCH=FILE...
//! ```
//! ARCH is a Kubernetes architecture name (amd64, arm64, arm = arm/v7, ppc64le,
//! s390x, riscv64). Prints the archive's path, the image index digest and one
//! line per platform.

use xtask::{Input, Options, build};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

const USAGE: &str = "usage: pause-oci --out FILE [--name REPO] [--tag TAG] [--epoch SECS] \
[--path /pause] [--entrypoint JSON-ARRAY] [--user UID:GID] [--label KEY=VALUE]... ARCH=FILE...
  --epoch defaults to $SOURCE_DATE_EPOCH (one of them is required)";

fn run() -> xtask::Result<()> {
    let mut args = std::env::args().skip(1);
    let mut out: Option<PathBuf> = None;
    let mut epoch: Option<i64> = None;
    let mut opts = Options {
        epoch: 0,
        path: "/pause".into(),
        entrypoint: vec![],
        user: "65535:65535".into(),
        labels: BTreeMap::new(),
        name: "docker.io/library/pause".into(),
        tag: "latest".into(),
    };
    let mut entrypoint: Option<Vec<String>> = None;
    let mut inputs = Vec::new();
    while let Some(a) = args.next() {
        let mut value = |flag: &str| args.next().ok_or_else(|| format!("{flag} needs a value"));
        match a.as_str() {
            "-h" | "--help" => {
                println!("{USAGE}");
                return Ok(());
            }
            "--out" => out = Some(value("--out")?.into()),
            "--name" => opts.name = value("--name")?,
            "--tag" => opts.tag = value("--tag")?,
            "--epoch" => epoch = Some(value("--epoch")?.parse()?),
            "--path" => opts.path = value("--path")?,
            "--user" => opts.user = value("--user")?,
            "--entrypoint" => entrypoint = Some(serde_json::from_str(&value("--entrypoint")?)?),
            "--label" => {
                let l = value("--label")?;
                let (k, v) = l
                    .split_once('=')
                    .ok_or_else(|| format!("--label {l:?}: expected KEY=VALUE"))?;
                opts.labels.insert(k.into(), v.into());
            }
            s if s.starts_with('-') => return Err(format!("unknown option {s}\n{USAGE}").into()),
            s => {
                let (arch, file) = s
                    .split_once('=')
                    .ok_or_else(|| format!("{s:?}: expected ARCH=FILE\n{USAGE}"))?;
                let binary = std::fs::read(file).map_err(|e| format!("{file}: {e}"))?;
                let source_name = Path::new(file)
                    .file_name()
                    .map(|n| n.to_string_lossy().into_owned())
                    .unwrap_or_default();
                inputs.push(Input {
                    arch: arch.into(),
                    binary,
                    source_name,
                });
            }
        }
    }
    let out = out.ok_or(format!("--out is required\n{USAGE}"))?;
    opts.epoch = match epoch {
        Some(e) => e,
        None => std::env::var("SOURCE_DATE_EPOCH")
            .map_err(|_| "give --epoch or set SOURCE_DATE_EPOCH (e.g. git log -1 --format=%ct)")?
            .parse()?,
    };
    opts.entrypoint = entrypoint.unwrap_or_else(|| vec![opts.path.clone()]);

    let built = build(&opts, &inputs)?;
    // Write beside the target, then rename: a reader never sees half an archive.
    let tmp = out.with_extension("tar.partial");
    std::fs::write(&tmp, &built.archive)?;
    std::fs::rename(&tmp, &out)?;
    println!(
        "{} {} ({} bytes, {}:{})",
        out.display(),
        built.index_digest,
        built.archive.len(),
        opts.name,
        opts.tag
    );
    for i in &built.images {
        println!("  {:<16} {}", i.platform, i.manifest_digest);
    }
    Ok(())
}

fn main() -> ExitCode {
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("pause-oci: {e}");
            ExitCode::FAILURE
        }
    }
}
