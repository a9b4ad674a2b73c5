//! `cargo xtask <command>`: the project's release tasks, in Rust rather than
//! in Makefile shell. `cargo xtask help` lists them; the Makefile's `oci`,
//! `oci-repro` and `size` targets call them.

mod archive;
mod attest;
mod oci;
mod pack;
mod project;
mod repro;
mod size;

use lexopt::ValueExt;
use std::process::ExitCode;

const USAGE: &str = "\
usage: cargo xtask <command> [options]

commands:
  oci        write bin/pause-oci.tar: the project's image for every architecture, each
             image with its SBOM (CycloneDX) and provenance (SLSA) as OCI referrers,
             and the index with the whole release's
  oci-repro  build the archive in two fresh clones of HEAD and compare the bytes
  size       check every bin/pause-linux-<arch> against its byte budget
  pack       the packer under `oci` for any static binaries, every field a flag, with the
             documents given (--attach) as referrers of the index (`cargo xtask pack --help`)
  help       print this text

oci options (the defaults are the project's):
  --out FILE       the archive to write            [bin/pause-oci.tar]
  --bin-dir DIR    where pause-linux-<arch> are    [bin]
  --name REPO      the image's repository          [localhost/pause]
  --source URL     label ...image.source, an http(s) URL; empty: no label
                                                   [origin's URL, if it is one]
  --revision REV   label ...image.revision         [git rev-parse HEAD, or unknown]
  --epoch SECS     every timestamp in the archive  [$SOURCE_DATE_EPOCH, or HEAD's commit time]

oci-repro options: --name REPO, --source URL, passed to `make oci` in both clones
                   (IMAGE_NAME, SOURCE)
size options:      --bin-dir DIR";

/// A command line that cannot be run as given: exits 2, after the usage.
#[derive(Debug)]
pub struct Usage(pub String);

impl std::fmt::Display for Usage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Usage {}

/// `-h`/`--help` where a command reads its flags: prints this text, exits 0.
#[derive(Debug)]
pub struct Help(pub &'static str);

impl std::fmt::Display for Help {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.0)
    }
}

impl std::error::Error for Help {}

fn run() -> xtask::Result<()> {
    let mut args = lexopt::Parser::from_env();
    let command = match args.next()? {
        None => None,
        Some(lexopt::Arg::Value(v)) => Some(v.string()?),
        Some(lexopt::Arg::Short('h') | lexopt::Arg::Long("help")) => Some("help".into()),
        Some(other) => return Err(other.unexpected().into()),
    };
    match command.as_deref() {
        None | Some("help") => {
            println!("{USAGE}");
            Ok(())
        }
        Some("oci") => oci::run(&mut args),
        Some("oci-repro") => repro::run(&mut args),
        Some("size") => size::run(&mut args),
        Some("pack") => pack::run(&mut args),
        Some(other) => Err(Usage(format!("unknown command {other:?}")).into()),
    }
}

fn main() -> ExitCode {
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) if e.is::<Help>() => {
            println!("{e}");
            ExitCode::SUCCESS
        }
        Err(e) if e.is::<Usage>() || e.is::<lexopt::Error>() => {
            eprintln!("xtask: {e}\n(`cargo xtask help` prints the usage)");
            ExitCode::from(2)
        }
        Err(e) => {
            eprintln!("xtask: {e}");
            ExitCode::FAILURE
        }
    }
}
