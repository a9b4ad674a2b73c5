//! `cargo xtask pack`: the packer with every field of the image a flag, for
//! any set of static binaries (`oci` is this with the project's values), and
//! the documents to attach to the image index as OCI 1.1 referrers: `oci`
//! attaches the SBOM and provenance of this project's build, which `pack`
//! cannot know for other binaries, so it attaches what it is given.

use crate::{Usage, archive, project};
use lexopt::{Arg, Parser, ValueExt};
use std::collections::BTreeMap;
use std::path::PathBuf;
use xtask::{Attachment, Image, Input, Options};

const USAGE: &str = "\
usage: cargo xtask pack --out FILE [--name REPO] [--tag TAG] [--epoch SECS] [--path /pause]
                        [--entrypoint JSON-ARRAY] [--user UID:GID] [--label KEY=VALUE]...
                        [--attach MEDIA-TYPE=FILE]... ARCH=FILE...
  ARCH is a Kubernetes architecture name (amd64, arm64 = arm64/v8, arm = arm/v7, arm/v6, ppc64le,
  s390x, riscv64, loong64).
  --attach attaches FILE to the image index as an OCI 1.1 referrer of that artifact type
  (e.g. application/vnd.cyclonedx+json=sbom.json), titled with FILE's name.
  --epoch defaults to $SOURCE_DATE_EPOCH (one of them is required); --entrypoint to [PATH].";

/// The command line, before the defaults that depend on other flags.
struct Flags {
    out: Option<PathBuf>,
    epoch: Option<i64>,
    entrypoint: Option<Vec<String>>,
    opts: Options,
    binaries: Vec<(String, PathBuf)>,
    attach: Vec<(String, PathBuf)>,
}

/// The documents given with `--attach`, for the image index.
struct Given(Vec<(String, PathBuf)>);

impl xtask::Attest for Given {
    fn documents(&self, _: &Input, _: &Image) -> xtask::Result<Vec<Attachment>> {
        Ok(Vec::new())
    }

    fn index_documents(&self, _: &str, _: &[Input], _: &[Image]) -> xtask::Result<Vec<Attachment>> {
        let attach = |(media_type, file): &(String, PathBuf)| {
            let document = std::fs::read(file).map_err(|e| format!("{}: {e}", file.display()))?;
            let title = file
                .file_name()
                .unwrap_or_default()
                .to_string_lossy()
                .into_owned();
            Ok(Attachment {
                media_type: media_type.clone(),
                title,
                document,
            })
        };
        self.0.iter().map(attach).collect()
    }
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
    archive::write(&out, &opts, &inputs, &Given(flags.attach))
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
        attach: Vec::new(),
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
            Arg::Long("attach") => {
                let (media_type, file) =
                    pair("--attach", "MEDIA-TYPE=FILE", args.value()?.string()?)?;
                flags.attach.push((media_type, file.into()));
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
