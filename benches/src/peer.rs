//! The programs measured: the project's pause, catatonit -P and, when
//! given, a reference pause.

use crate::args::Args;
use serde::Serialize;
use std::path::{Path, PathBuf};

/// Runs the instruction count (single/callgrind.rs); checked with the peers
/// so that a run without it stops before measuring anything.
pub const VALGRIND: &str = "/usr/bin/valgrind";
/// Counts the system calls per reaped orphan (single/reapcount).
pub const STRACE: &str = "/usr/bin/strace";

#[derive(Debug, Clone, Serialize)]
pub struct Peer {
    pub key: String,
    pub label: String,
    pub path: PathBuf,
    pub args: Vec<String>,
    /// File name of the binary inside its image.
    pub image_name: String,
    /// What file(1) says about the binary.
    pub kind: String,
}

impl Peer {
    pub fn argv(&self) -> Vec<String> {
        std::iter::once(self.path.to_string_lossy().into_owned())
            .chain(self.args.iter().cloned())
            .collect()
    }

    pub fn entrypoint(&self) -> Vec<String> {
        std::iter::once(format!("/{}", self.image_name))
            .chain(self.args.iter().cloned())
            .collect()
    }
}

/// The environment every peer gets, as a container runtime would give it.
pub fn container_env() -> Vec<(String, String)> {
    vec![
        (
            "PATH".into(),
            "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin".into(),
        ),
        ("HOSTNAME".into(), "bench".into()),
    ]
}

/// The peers the command line asks for, pause first: the table's verdicts
/// and ratios compare the first peer with the others.
pub fn peers_of(args: &Args) -> Vec<Peer> {
    let peer = |key: &str, label: &str, path: &Path, args: &[&str], image_name: &str| Peer {
        key: key.into(),
        label: label.into(),
        path: path.to_path_buf(),
        args: args.iter().map(|a| a.to_string()).collect(),
        image_name: image_name.into(),
        kind: String::new(),
    };
    let project = args.bin_dir.join(format!("pause-linux-{}", args.arch));
    let mut peers = vec![
        peer("pause", "pause (this project)", &project, &[], "pause"),
        peer(
            "catatonit",
            "catatonit -P",
            &args.catatonit,
            &["-P"],
            "catatonit",
        ),
    ];
    if let Some(r) = &args.reference {
        peers.push(peer("ref", "reference pause (REF_PAUSE)", r, &[], "pause"));
    }
    peers
}

/// The peers, each described by file(1); exits saying why when a peer,
/// valgrind or strace is missing, before anything is measured.
pub fn checked(args: &Args) -> Vec<Peer> {
    let mut peers = peers_of(args);
    let mut fatal = Vec::new();
    for p in &mut peers {
        if !p.path.is_file() {
            fatal.push(format!("{}: {} not found", p.label, p.path.display()));
        }
        p.kind = file_kind(&p.path);
    }
    for tool in [VALGRIND, STRACE] {
        if !Path::new(tool).is_file() {
            fatal.push(format!("{tool} not installed (make deps)"));
        }
    }
    if !fatal.is_empty() {
        for f in &fatal {
            eprintln!("pause-bench: {f}");
        }
        std::process::exit(1);
    }
    peers
}

fn file_kind(path: &Path) -> String {
    std::process::Command::new("file")
        .arg("-b")
        .arg(path)
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
        .unwrap_or_else(|| "unknown (file(1) not installed)".into())
}
