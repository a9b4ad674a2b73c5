//! `cargo xtask oci-repro`: two fresh clones of the committed HEAD, each
//! built from scratch with `make oci` and its own target dir, must give
//! byte-identical archives. Uncommitted changes are not tested.

use crate::project;
use lexopt::{Arg, Parser, ValueExt};
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::fs::File;
use std::io::Read;
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
    let clone = scratch.path().join("a");
    let files = archive_files(&clone.join(ARCHIVE))?;
    let referrers = referrers(&files)?;
    if referrers == 0 {
        return Err("oci-repro: the archive carries no SBOM or provenance".into());
    }
    println!("oci-repro: identical, with {referrers} referrers (SBOM and provenance)");
    let statements = check_build_type(&clone, &files)?;
    println!(
        "oci-repro: the {statements} provenance statements' build type is {}, \
         which is in the clone and describes each of their parameters",
        xtask::provenance::BUILD_TYPE_PAGE
    );
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

/// The archive's files by path.
fn archive_files(archive: &Path) -> xtask::Result<BTreeMap<String, Vec<u8>>> {
    let mut tar = tar::Archive::new(File::open(archive)?);
    let mut files = BTreeMap::new();
    for entry in tar.entries()? {
        let mut entry = entry?;
        let path = entry.path()?.to_string_lossy().into_owned();
        let mut data = Vec::new();
        entry.read_to_end(&mut data)?;
        files.insert(path, data);
    }
    Ok(files)
}

/// How many artifact manifests (referrers) the archive's index.json lists.
fn referrers(files: &BTreeMap<String, Vec<u8>>) -> xtask::Result<usize> {
    let index = files
        .get("index.json")
        .ok_or("the archive has no index.json")?;
    let index: serde_json::Value = serde_json::from_slice(index)?;
    let manifests = index["manifests"].as_array().into_iter().flatten();
    Ok(manifests
        .filter(|m| m.get("artifactType").is_some())
        .count())
}

/// Every provenance statement in the archive names, as its build type, the
/// page of the repository that the clone holds, and that page names each of
/// the statement's parameters. Returns how many statements there are.
fn check_build_type(clone: &Path, files: &BTreeMap<String, Vec<u8>>) -> xtask::Result<usize> {
    let mut count = 0;
    for data in files.values() {
        let Ok(statement) = serde_json::from_slice::<serde_json::Value>(data) else {
            continue;
        };
        if statement["predicateType"] != "https://slsa.dev/provenance/v1" {
            continue;
        }
        let build = &statement["predicate"]["buildDefinition"];
        let build_type = build["buildType"].as_str().unwrap_or_default();
        let page = build_type
            .split_once('#')
            .map(|(_, page)| page)
            .filter(|page| *page == xtask::provenance::BUILD_TYPE_PAGE)
            .ok_or_else(|| format!("oci-repro: build type {build_type:?} names no page"))?;
        let text = std::fs::read_to_string(clone.join(page))
            .map_err(|e| format!("oci-repro: build type {build_type}: {page}: {e}"))?;
        for part in ["externalParameters", "internalParameters"] {
            let keys = build[part].as_object().into_iter().flat_map(|o| o.keys());
            for key in keys {
                if !text.contains(&format!("`{key}`")) {
                    return Err(format!("oci-repro: {page} does not describe {part}.{key}").into());
                }
            }
        }
        count += 1;
    }
    Ok(count)
}
