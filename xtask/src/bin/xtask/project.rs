//! What the tasks know about this project: where it is, what it ships, and
//! the facts its image records (version, licence, source, revision, time).

use lexopt::ValueExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

pub use xtask::size::ARCHES;

/// The image's repository, as containerd and the kubelet name it.
pub const NAME: &str = "docker.io/library/pause";
/// The image's description label; the Dockerfile carries the same text.
pub const DESCRIPTION: &str = "Pod sandbox (pause) container: holds a pod's namespaces, \
reaps its zombies, exits 0 on SIGINT/SIGTERM";
/// Where the binary sits in the image, and what it runs as: the kubelet's
/// own pause image uses the same unprivileged user.
pub const PATH: &str = "/pause";
pub const USER: &str = "65535:65535";

/// The repository root (this crate is `xtask/`).
pub fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("xtask/ sits in the repository")
        .to_path_buf()
}

/// `bin/` of the repository: what `make build` writes.
pub fn bin_dir() -> PathBuf {
    root().join("bin")
}

/// The shipped binary of `arch` in `bin_dir`; a variant joins the file name
/// with a dash (`arm/v6`: `pause-linux-arm-v6`).
pub fn binary(bin_dir: &Path, arch: &str) -> PathBuf {
    bin_dir.join(format!("pause-linux-{}", xtask::size::file_arch(arch)))
}

/// The root package's `version` and `license` from Cargo.toml.
pub struct Package {
    pub version: String,
    pub license: String,
}

pub fn package() -> xtask::Result<Package> {
    let manifest = root().join("Cargo.toml");
    let text =
        std::fs::read_to_string(&manifest).map_err(|e| format!("{}: {e}", manifest.display()))?;
    let table: toml::Table = text.parse()?;
    let field = |key: &str| {
        table
            .get("package")
            .and_then(|p| p.get(key))
            .and_then(|v| v.as_str())
            .map(str::to_string)
            .ok_or_else(|| format!("{}: no package.{key}", manifest.display()))
    };
    Ok(Package {
        version: field("version")?,
        license: field("license")?,
    })
}

/// One line of `git` output run in the repository, or None when git or the
/// repository cannot tell (no git, no commit, no such remote).
pub fn git(args: &[&str]) -> Option<String> {
    let out = Command::new("git")
        .arg("-C")
        .arg(root())
        .args(args)
        .stderr(Stdio::null())
        .output()
        .ok()?;
    let line = String::from_utf8(out.stdout).ok()?.trim().to_string();
    (out.status.success() && !line.is_empty()).then_some(line)
}

/// Where the code came from: the `origin` remote, as the Makefile took it.
pub fn source() -> String {
    git(&["remote", "get-url", "origin"]).unwrap_or_else(|| "unknown".into())
}

/// The commit the archive is built from.
pub fn revision() -> String {
    git(&["rev-parse", "HEAD"]).unwrap_or_else(|| "unknown".into())
}

/// Every timestamp of the archive: `SOURCE_DATE_EPOCH` when set (the
/// reproducible-builds convention), else the time of the commit, so the same
/// commit always gives the same bytes. Never the clock.
pub fn epoch() -> xtask::Result<i64> {
    if let Some(epoch) = source_date_epoch()? {
        return Ok(epoch);
    }
    let text = git(&["log", "-1", "--format=%ct"])
        .ok_or("SOURCE_DATE_EPOCH unset and no git commit to take it from")?;
    Ok(text.parse()?)
}

/// The value of `--epoch`: seconds since 1970, as `git log --format=%ct` prints.
pub fn epoch_flag(args: &mut lexopt::Parser) -> xtask::Result<i64> {
    let text = args.value()?.string()?;
    text.parse()
        .map_err(|e| crate::Usage(format!("--epoch {text:?}: {e}")).into())
}

/// `SOURCE_DATE_EPOCH` when set and not empty.
pub fn source_date_epoch() -> xtask::Result<Option<i64>> {
    match std::env::var("SOURCE_DATE_EPOCH") {
        Ok(text) if !text.is_empty() => text
            .parse()
            .map(Some)
            .map_err(|e| format!("SOURCE_DATE_EPOCH {text:?}: {e}").into()),
        _ => Ok(None),
    }
}

/// `path` as the user would type it: relative to the current directory when
/// it lies below it, so `make` run at the root prints `bin/...` as before.
pub fn shown(path: &Path) -> String {
    let relative = std::env::current_dir()
        .ok()
        .and_then(|cwd| path.strip_prefix(cwd).ok().map(Path::to_path_buf));
    relative.as_deref().unwrap_or(path).display().to_string()
}
