//! One CRI-O, built from its Go module (`make deps-go`): started in a
//! registry's network namespace (loopback only) with everything under a
//! temp dir ([`crio_config`]), connected to over its socket, ready when CRI
//! says so. The sandbox image and every other image come from that
//! registry; nothing is copied into CRI-O's storage.
//!
//! What a node holds on the host (CRI-O, its directory with every mount,
//! its pods' cgroups) is registered with the harness's teardown
//! ([`crate::teardown`]), which removes it from Drop, on a signal, or in
//! the next run.

use super::client::{Cri, cgroup_parent_of};
use super::crio_config::{self, CONMON, Layout, crio_binary};
use crate::ci;
use crate::registry;
use crate::registry::Registry;
use crate::teardown::{self, Live, Resource};
use std::path::{Path, PathBuf};
use std::process::{Child, ExitStatus, Stdio};

pub struct CrioNode {
    cri: Cri,
    /// `pause_image` of deploy/cri-o/10-pause.conf.
    pub sandbox_image: String,
    child: Option<Child>,
    pid: i32,
    /// CRI-O, its temp dir (config, socket, storage, runc state, pinned pod
    /// namespaces: every mount it makes is under it) and its pods' cgroup
    /// parent, for the teardown.
    live: Live,
}

impl std::ops::Deref for CrioNode {
    type Target = Cri;

    fn deref(&self) -> &Cri {
        &self.cri
    }
}

/// Why a CRI-O node cannot run here, if it cannot.
pub fn missing_requirements() -> Option<String> {
    if !ci::is_root() {
        return Some("CRI-O needs root (runc, mounts, network namespaces)".into());
    }
    let built = ["crio", "pinns"].map(crio_binary);
    if let Some(b) = built.iter().find(|b| !b.is_file()) {
        return Some(format!(
            "{} missing: run `make deps-go GO_TOOLS=cri-o`",
            b.display()
        ));
    }
    // nft: without it CRI-O 1.34.0 keeps a nil nftables hostport manager
    // and crashes on the first pod with a hostPort.
    ["runc", "jq", "nsenter", "ip", "nft", "catatonit"]
        .iter()
        .find(|t| ci::which(t).is_none())
        .map(|t| format!("{t} not found: run `make deps`"))
        .or_else(|| {
            (!Path::new(CONMON).is_file()).then(|| format!("{CONMON} missing: run `make deps`"))
        })
        .or_else(|| {
            let bridge = Path::new(super::CNI_BIN).join("bridge");
            (!bridge.exists()).then(|| format!("{} missing: run `make deps`", bridge.display()))
        })
        .or_else(registry::missing)
}

/// Whether a CRI-O node can run here ([`ci::require`]: a failure in CI, a
/// loud skip elsewhere).
pub fn can_run_crio() -> bool {
    let missing = missing_requirements();
    ci::require(missing.is_none(), missing.as_deref().unwrap_or_default())
}

impl CrioNode {
    /// Starts CRI-O with deploy/cri-o/10-pause.conf and the test's `dropin`
    /// (crio.conf.d TOML after it; empty for none), pulling from
    /// `registry`, and waits until CRI reports it ready.
    pub fn start(registry: &Registry, dropin: &str) -> CrioNode {
        CrioNode::start_with(registry, dropin, &[], Path::new(CONMON))
    }

    /// [`CrioNode::start`], with `registry` the mirror of the registries
    /// `also_mirrored` names too (those of critest's images).
    pub fn start_mirroring(registry: &Registry, dropin: &str, also_mirrored: &[&str]) -> CrioNode {
        CrioNode::start_with(registry, dropin, also_mirrored, Path::new(CONMON))
    }

    /// [`CrioNode::start`] with another conmon (a missing one, in the test
    /// that CRI-O's failure to start is reported and leaves nothing).
    pub fn start_with_conmon(registry: &Registry, dropin: &str, conmon: &Path) -> CrioNode {
        CrioNode::start_with(registry, dropin, &[], conmon)
    }

    fn start_with(
        registry: &Registry,
        dropin: &str,
        also_mirrored: &[&str],
        conmon: &Path,
    ) -> CrioNode {
        let dir = tempfile::Builder::new()
            .prefix("pause-crio.")
            .tempdir()
            .expect("temp dir");
        let socket = dir.path().join("crio.sock");
        let mirror = registry.host();
        crio_config::prepare(dir.path(), &socket, &mirror, also_mirrored, dropin, conmon);
        let layout = Layout::of(dir.path());
        let sandbox_image = sandbox_image(&layout.config_dir);
        let live = teardown::register(
            Resource::new(format!("CRI-O node {}", dir.path().display()))
                .dir(dir.path())
                .cgroup(cgroup_parent_of(dir.path())),
        );
        let child = spawn_crio(&layout, registry);
        live.add_process(child.id());
        let pid = child.id() as i32;
        // From here on every failure drops the node, whose Drop tears it down.
        let mut node = CrioNode {
            cri: Cri::new(dir, socket, layout.log),
            sandbox_image,
            child: Some(child),
            pid,
            live,
        };
        let log = node.dir.path().join("crio.log");
        let why = |status: ExitStatus| why_not_started(status, &log);
        node.cri
            .connect("CRI-O", node.child.as_mut().unwrap(), &why);
        node.cri.wait_ready();
        node
    }

    /// The PID of CRI-O's parent, catatonit (both run in the registry's
    /// network namespace: the "node" network of a hostNetwork pod).
    pub fn pid(&self) -> i32 {
        self.pid
    }

    /// `crio --config ... ARGS`: CRI-O's own command line on this node's
    /// configuration (`config` prints what it merged, `version` its build).
    pub fn crio_command(&self, args: &[&str]) -> std::process::Command {
        let mut c = std::process::Command::new(crio_binary("crio"));
        c.args(config_args(&Layout::of(self.dir.path()))).args(args);
        c
    }
}

impl Drop for CrioNode {
    /// Stops and removes whatever pods are left through CRI, as kubelet
    /// would, then the harness's teardown.
    fn drop(&mut self) {
        if self
            .child
            .as_mut()
            .is_some_and(|c| c.try_wait().ok().flatten().is_none())
        {
            self.cri.remove_pods();
        }
        self.live.release();
        if let Some(mut child) = self.child.take() {
            let _ = child.wait();
        }
    }
}

/// The flags that point CRI-O at a node's files instead of /etc's.
fn config_args(layout: &Layout) -> Vec<std::ffi::OsString> {
    let flag = |name: &str, path: &Path| [name.into(), path.as_os_str().to_owned()];
    [
        flag("--config", &layout.config),
        flag("--config-dir", &layout.config_dir),
        flag("--registries-conf", &layout.registries),
        flag("--registries-conf-dir", &layout.registries_dir),
    ]
    .concat()
}

/// crio in `registry`'s network namespace, logging to the node's log; the
/// storage configuration of containers/storage is the node's too.
///
/// crio runs under catatonit, a child subreaper that reaps at once what is
/// orphaned below it, as a node's init (systemd) does. conmon kills an exec
/// that timed out and exits without waiting for it, so the killed process is
/// reaped by whichever reaper adopts it; this machine's PID 1 reaps adopted
/// processes only every second or two, and until then the dead process is
/// a zombie still listed in the container (critest's `execSync with
/// timeout` sees it with `pgrep`). catatonit forwards SIGTERM to crio and
/// exits with its status.
fn spawn_crio(layout: &Layout, registry: &Registry) -> Child {
    let log = std::fs::File::create(&layout.log).unwrap();
    let mut command = registry.netns().command("catatonit");
    command
        .arg("--")
        .arg(crio_binary("crio"))
        .args(config_args(layout))
        .env("CONTAINERS_STORAGE_CONF", &layout.storage_conf)
        .stdin(Stdio::null())
        .stdout(log.try_clone().unwrap())
        .stderr(log)
        .spawn()
        .expect("start crio")
}

/// `pause_image` as the drop-ins in `config_dir` set it, the last one
/// winning, as CRI-O reads them.
fn sandbox_image(config_dir: &Path) -> String {
    let mut files: Vec<PathBuf> = std::fs::read_dir(config_dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    files
        .iter()
        .filter_map(|f| {
            let table = super::config::read_toml(f);
            let image = table.get("crio")?.get("image")?.get("pause_image")?;
            image.as_str().map(str::to_string)
        })
        .next_back()
        .expect("no pause_image in deploy/cri-o/10-pause.conf")
}

/// One line saying why CRI-O exited before it served: its last fatal (else
/// error) message, else the last line it wrote.
fn why_not_started(status: ExitStatus, log: &Path) -> String {
    let text = std::fs::read_to_string(log).unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    let last_with = |level: &str| lines.iter().rev().find(|l| l.contains(level)).copied();
    let line = last_with("level=fatal")
        .or_else(|| last_with("level=error"))
        .or_else(|| lines.last().copied())
        .unwrap_or("(no output)");
    let message = line
        .split_once("msg=")
        .map_or(line, |(_, m)| m)
        .trim_matches('"');
    format!("CRI-O did not start ({status}): {message}")
}
