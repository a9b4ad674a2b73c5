//! `cargo xtask pack`: the packer with every field of the image a flag, for
//! any set of static binaries (`oci` is this with the project's values).

use crate::{Usage, archive, project};
use lexopt::{Arg, Parser, ValueExt};
use std::collections::BTreeMap;
use std::path::PathBuf;
use xtask::Options;

const USAGE: &str = "\
usage: cargo xtask pack --out FILE [--name REPO] [--tag TAG] [--epoch SECS] [--path /pause]
                        [--entrypoint JSON-ARRAY] [--user UID:GID] [--label KEY=VALUE]... ARCH=FILE...
  ARCH is a Kubernetes architecture name (amd64, arm64 = arm64/v8, arm = arm/v7, arm/v6, ppc64le,
  s390x, riscv64, loong64).
  --epoch defaults to $SOURCE_DATE_EPOCH (one of them is required); --entrypoint to [PATH].";

/// The command line, before the defaults that depend on other flags.
struct Flags {
    out: Option<PathBuf>,
    epoch: Option<i64>,
    entrypoint: Option<Vec<String>>,
    opts: Options,
    binaries: Vec<(String, PathBuf)>,
}

pub fn run(args: &mut Parser) -> xtask::Result<()> {
    let flags = parse(args)?;
    let out = flags
        .out
        .ok_or_else(|| Usage("pack: --out is required".into()))?;
    let mut opts = flags.opts;
    opts.epoch = match flags.epoch {
        Some(epoch) => epoch,
        None => project::source_date_epoch()?
            .ok_or("pack: give --epoch or set SOURCE_DATE_EPOCH (e.g. git log -1 --format=%ct)")?,
    };
    opts.entrypoint = flags.entrypoint.unwrap_or_else(|| vec![opts.path.clone()]);
    let inputs = flags
        .binaries
        .iter()
        .map(|(arch, file)| archive::input(arch, file))
        .collect::<xtask::Result<Vec<_>>>()?;
    archive::write(&out, &opts, &inputs, &xtask::referrers::Nothing)
}

fn parse(args: &mut Parser) -> xtask::Result<Flags> {
    let mut flags = Flags {
        out: None,
        epoch: None,
        entrypoint: None,
        opts: Options {
            epoch: 0,
            path: "/pause".into(),
            entrypoint: vec![],
            user: "65535:65535".into(),
            labels: BTreeMap::new(),
            name: xtask::DEFAULT_NAME.into(),
            tag: "latest".into(),
            tool: format!("cargo xtask pack (xtask {})", env!("CARGO_PKG_VERSION")),
        },
        binaries: Vec::new(),
    };
    while let Some(arg) = args.next()? {
        match arg {
            Arg::Short('h') | Arg::Long("help") => return Err(crate::Help(USAGE).into()),
            Arg::Long("out") => flags.out = Some(args.value()?.into()),
            Arg::Long("name") => flags.opts.name = args.value()?.string()?,
            Arg::Long("tag") => flags.opts.tag = args.value()?.string()?,
            Arg::Long("epoch") => flags.epoch = Some(project::epoch_flag(args)?),
            Arg::Long("path") => flags.opts.path = args.value()?.string()?,
            Arg::Long("user") => flags.opts.user = args.value()?.string()?,
            Arg::Long("entrypoint") => {
                let json = args.value()?.string()?;
                let list = serde_json::from_str(&json)
                    .map_err(|e| Usage(format!("--entrypoint {json:?}: {e}")))?;
                flags.entrypoint = Some(list);
            }
            Arg::Long("label") => {
                let (key, value) = pair("--label", "KEY=VALUE", args.value()?.string()?)?;
                flags.opts.labels.insert(key, value);
            }
            Arg::Value(binary) => {
                let (arch, file) = pair("pack", "ARCH=FILE", binary.string()?)?;
                flags.binaries.push((arch, file.into()));
            }
            other => return Err(other.unexpected().into()),
        }
    }
    Ok(flags)
}

/// Splits `KEY=VALUE` at the first `=`.
fn pair(what: &str, form: &str, text: String) -> Result<(String, String), Usage> {
    match text.split_once('=') {
        Some((key, value)) => Ok((key.into(), value.into())),
        None => Err(Usage(format!("{what} {text:?}: expected {form}"))),
    }
}
