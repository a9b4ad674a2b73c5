//! `cargo xtask oci-repro`: two fresh clones of the committed HEAD, each
//! built from scratch with `make oci` and its own target dir, must give
//! byte-identical archives. Uncommitted changes are not tested.

use crate::project;
use lexopt::{Arg, Parser, ValueExt};
use sha2::{Digest, Sha256};
use std::fs::File;
use std::path::Path;
use std::process::Command;

const ARCHIVE: &str = "bin/pause-oci.tar";

/// The `make oci` variables both clones get: the clones' own `origin` is this
/// directory, so SOURCE is this tree's (or empty: no label), and the digests
/// printed match a `make oci` here.
struct Flags {
    name: String,
    source: String,
}

pub fn run(args: &mut Parser) -> xtask::Result<()> {
    let flags = parse(args)?;
    let revision = project::git(&["rev-parse", "HEAD"]).ok_or("oci-repro: no commit to clone")?;
    // Removed when dropped: on success, on every error, and on a panic.
    let scratch = tempfile::Builder::new()
        .prefix("pause-oci-repro.")
        .tempdir()?;
    let mut sums = Vec::new();
    for clone in ["a", "b"] {
        let dir = scratch.path().join(clone);
        build_clone(&revision, &dir, &flags)?;
        let sum = sha256_file(&dir.join(ARCHIVE))?;
        sums.push(sum);
    }
    println!("{}  a/{ARCHIVE}\n{}  b/{ARCHIVE}", sums[0], sums[1]);
    if sums[0] != sums[1] {
        return Err("oci-repro: the two archives differ".into());
    }
    // The referrers are part of the bytes compared; say so, and refuse an
    // archive that lost them, which would compare equal just as well.
    let referrers = referrers(&scratch.path().join("a").join(ARCHIVE))?;
    if referrers == 0 {
        return Err("oci-repro: the archive carries no SBOM or provenance".into());
    }
    println!("oci-repro: identical, with {referrers} referrers (SBOM and provenance)");
    Ok(())
}

fn parse(args: &mut Parser) -> xtask::Result<Flags> {
    let mut flags = Flags {
        name: project::NAME.into(),
        source: project::source().unwrap_or_default(),
    };
    while let Some(arg) = args.next()? {
        match arg {
            Arg::Short('h') | Arg::Long("help") => return Err(crate::Help(crate::USAGE).into()),
            Arg::Long("name") => flags.name = args.value()?.string()?,
            Arg::Long("source") => flags.source = args.value()?.string()?,
            other => return Err(other.unexpected().into()),
        }
    }
    Ok(flags)
}

/// Clones `revision` into `dir` and runs `make oci` there, its output in
/// `dir.log`; prints the archive's line of it, or the log's tail on failure.
fn build_clone(revision: &str, dir: &Path, flags: &Flags) -> xtask::Result<()> {
    let root = project::root();
    succeed(
        Command::new("git")
            .args(["clone", "-q", "--no-local"])
            .arg(&root)
            .arg(dir),
    )?;
    succeed(
        Command::new("git")
            .arg("-C")
            .arg(dir)
            .args(["checkout", "-q", "--detach", revision]),
    )?;
    println!("== clone {}: make oci ({revision})", file_name(dir));
    let log_path = dir.with_extension("log");
    let log = File::create(&log_path)?;
    let status = Command::new("make")
        .arg("-C")
        .arg(dir)
        .args(["--no-print-directory", "oci"])
        .arg(format!("SOURCE={}", flags.source))
        .arg(format!("IMAGE_NAME={}", flags.name))
        // From scratch: its own target dir, and none of the make that may
        // have started this one (its variables and jobserver).
        .env("CARGO_TARGET_DIR", dir.join("target"))
        .env_remove("MAKEFLAGS")
        .env_remove("MFLAGS")
        .env_remove("MAKELEVEL")
        .stdout(log.try_clone()?)
        .stderr(log)
        .status()?;
    let text = std::fs::read_to_string(&log_path)?;
    if !status.success() {
        let lines: Vec<&str> = text.lines().collect();
        eprintln!("{}", lines[lines.len().saturating_sub(30)..].join("\n"));
        return Err(format!("oci-repro: make oci failed in clone {}", file_name(dir)).into());
    }
    text.lines()
        .filter(|l| l.contains("pause-oci.tar sha256:"))
        .for_each(|l| println!("{l}"));
    Ok(())
}

/// Runs a command that prints nothing worth keeping; fails with its name.
fn succeed(command: &mut Command) -> xtask::Result<()> {
    let status = command.status()?;
    if status.success() {
        Ok(())
    } else {
        Err(format!("{command:?}: {status}").into())
    }
}

fn file_name(dir: &Path) -> String {
    dir.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default()
}

/// The file's sha256, as `sha256sum` prints it.
fn sha256_file(path: &Path) -> xtask::Result<String> {
    let data = std::fs::read(path).map_err(|e| format!("{}: {e}", path.display()))?;
    Ok(format!("{:x}", Sha256::digest(&data)))
}

/// How many artifact manifests (referrers) the archive's index.json lists.
fn referrers(archive: &Path) -> xtask::Result<usize> {
    let mut tar = tar::Archive::new(File::open(archive)?);
    for entry in tar.entries()? {
        let entry = entry?;
        if entry.path()?.as_os_str() == "index.json" {
            let index: serde_json::Value = serde_json::from_reader(entry)?;
            let manifests = index["manifests"].as_array().into_iter().flatten();
            return Ok(manifests
                .filter(|m| m.get("artifactType").is_some())
                .count());
        }
    }
    Err(format!("{}: no index.json", archive.display()).into())
}
