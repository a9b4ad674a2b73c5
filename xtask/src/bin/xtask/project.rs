//! What the tasks know about this project: where it is, what it ships, and
//! the facts its image records (version, licence, source, revision, time).

use lexopt::ValueExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

pub use xtask::size::ARCHES;

pub use xtask::DEFAULT_NAME as NAME;
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

/// The value of the label `key` that the Dockerfile's `LABEL` sets with a
/// literal in double quotes: the one text both images carry (title,
/// description), read where `docker build` reads it.
pub fn dockerfile_label(key: &str) -> xtask::Result<String> {
    let path = root().join("Dockerfile");
    let text = std::fs::read_to_string(&path).map_err(|e| format!("{}: {e}", path.display()))?;
    let start = format!("{key}=\"");
    let value = text
        .lines()
        .map(|line| line.trim_start().trim_start_matches("LABEL "))
        .find_map(|line| line.strip_prefix(&start))
        .and_then(|rest| rest.split_once('"'))
        .map(|(value, _)| value)
        .ok_or_else(|| format!("{}: no label {key}=\"...\"", path.display()))?;
    if value.contains(['\\', '$']) {
        return Err(format!("{}: label {key} is not a plain literal", path.display()).into());
    }
    Ok(value.to_string())
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

/// Where the code came from, for the `org.opencontainers.image.source`
/// label: the `origin` remote when it is a web address; None (no label) when
/// it is a local directory or an ssh address, which mean nothing to a user of
/// the image.
pub fn source() -> Option<String> {
    git(&["remote", "get-url", "origin"]).and_then(|origin| source_url(&origin).ok())
}

/// `text` as the source label: an http(s) URL, with any user name or token
/// dropped so that a clone made with credentials does not publish them.
pub fn source_url(text: &str) -> Result<String, String> {
    let (scheme, rest) = text
        .split_once("://")
        .filter(|(scheme, _)| ["https", "http"].contains(scheme))
        .ok_or_else(|| format!("source {text:?} is not an http(s) URL"))?;
    let (authority, path) = rest.split_once('/').unwrap_or((rest, ""));
    let host = authority.rsplit('@').next().unwrap_or_default();
    if host.is_empty() || host.contains(char::is_whitespace) || path.contains(char::is_whitespace) {
        return Err(format!("source {text:?} is not an http(s) URL"));
    }
    Ok(if path.is_empty() {
        format!("{scheme}://{host}")
    } else {
        format!("{scheme}://{host}/{path}")
    })
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
