//! What a node's CRI-O reads, all under its temp dir: its own `crio.conf`
//! (every path CRI-O, containers/storage and containers/image would take
//! from /etc, /var or /run moved into the dir), deploy/cri-o/10-pause.conf
//! copied as it is into `crio.conf.d/`, an optional drop-in of the test's
//! after it, a registries.conf whose only reachable registry is the
//! loopback one, as the mirror of `localhost`, an accept-anything signature
//! policy (the registry is the test's own), and the CNI network.

use crate::repo;
use std::path::{Path, PathBuf};

/// The subdirectories CRI-O, conmon, runc and CNI write to.
const DIRS: [&str; 11] = [
    "root",
    "runroot",
    "runc",
    "ns",
    "exits",
    "attach",
    "logs",
    "tmp",
    "crio.conf.d",
    "registries.conf.d",
    "cni/net.d",
];

/// Debian 12's conmon and runc; the runc wrapper of [`runtime_wrapper`].
pub const CONMON: &str = "/usr/bin/conmon";

/// deploy/cri-o/10-pause.conf, the recipe the suite runs as users install it.
pub fn deploy_dropin() -> PathBuf {
    repo::path("deploy/cri-o/10-pause.conf")
}

/// tests/scripts/runc-host-limits.sh: runc, with a pod's oom_score_adj
/// raised to CRI-O's own when lower, and capabilities outside the machine's
/// bounding set dropped. CRI-O gives every infra container -998 and a
/// privileged container every capability; the first needs, the second
/// includes, CAP_SYS_RESOURCE, which this machine's bounding set lacks, so
/// runc would fail them. containerd does both itself
/// (`restrict_oom_score_adj`, and privileged means the capabilities it
/// holds); CRI-O has no option for either. The wrapper changes nothing else.
pub fn runtime_wrapper() -> PathBuf {
    repo::path("tests/scripts/runc-host-limits.sh")
}

/// Where CRI-O's files for a node in `dir` are.
pub struct Layout {
    pub config: PathBuf,
    pub config_dir: PathBuf,
    pub registries: PathBuf,
    pub registries_dir: PathBuf,
    pub storage_conf: PathBuf,
    pub log: PathBuf,
}

impl Layout {
    pub fn of(dir: &Path) -> Layout {
        Layout {
            config: dir.join("crio.conf"),
            config_dir: dir.join("crio.conf.d"),
            registries: dir.join("registries.conf"),
            registries_dir: dir.join("registries.conf.d"),
            storage_conf: dir.join("storage.conf"),
            log: dir.join("crio.log"),
        }
    }
}

/// Lays out `dir` for a CRI-O node: its directories, `crio.conf`,
/// deploy/cri-o/10-pause.conf and the test's `dropin` (TOML, empty for
/// none) in `crio.conf.d/`, registries.conf with `mirror` (`host:port`) as
/// the only registry of `localhost` and of the `also_mirrored` registries,
/// storage.conf, the signature policy and the CNI conflist. `conmon` is the
/// monitor CRI-O is told to use.
pub(super) fn prepare(
    dir: &Path,
    socket: &Path,
    mirror: &str,
    also_mirrored: &[&str],
    dropin: &str,
    conmon: &Path,
) {
    for sub in DIRS {
        std::fs::create_dir_all(dir.join(sub)).unwrap();
    }
    let layout = Layout::of(dir);
    std::fs::write(&layout.config, crio_conf(dir, socket, conmon)).unwrap();
    std::fs::copy(deploy_dropin(), layout.config_dir.join("10-pause.conf"))
        .unwrap_or_else(|e| panic!("{}: {e}", deploy_dropin().display()));
    if !dropin.is_empty() {
        std::fs::write(layout.config_dir.join("20-test.conf"), dropin).unwrap();
    }
    std::fs::write(&layout.registries, registries_conf(mirror, also_mirrored)).unwrap();
    std::fs::write(&layout.storage_conf, storage_conf(dir)).unwrap();
    std::fs::write(dir.join("policy.json"), POLICY).unwrap();
    super::config::write_cni_conflist(dir);
}

/// Every registry pull is allowed: the only one reachable is the test's.
const POLICY: &str = r#"{"default": [{"type": "insecureAcceptAnything"}]}"#;

/// CRI-O's own settings: nothing shared with the host or another node (no
/// metrics, NRI or irqbalance file), cgroupfs, the wrapped runc, Debian's
/// conmon, CNI from [`super::CNI_BIN`], overlay storage.
fn crio_conf(dir: &Path, socket: &Path, conmon: &Path) -> String {
    let p = |s: &str| dir.join(s).display().to_string();
    format!(
        r#"[crio]
root = "{root}"
runroot = "{runroot}"
storage_driver = "overlay"
log_dir = "{logs}"
version_file = "{runroot}/version"
version_file_persist = "{root}/version"
clean_shutdown_file = "{root}/clean.shutdown"

[crio.api]
listen = "{socket}"
stream_address = "127.0.0.1"
stream_port = "0"

[crio.runtime]
default_runtime = "runc"
conmon = "{conmon}"
conmon_cgroup = "pod"
cgroup_manager = "cgroupfs"
namespaces_dir = "{ns}"
pinns_path = "{pinns}"
container_exits_dir = "{exits}"
container_attach_socket_dir = "{attach}"
hooks_dir = []
default_mounts_file = ""
decryption_keys_path = "{keys}"
irqbalance_config_file = ""
irqbalance_config_restore_file = "disable"
blockio_config_file = ""
rdt_config_file = ""
cdi_spec_dirs = []
log_level = "info"

[crio.runtime.runtimes.runc]
runtime_path = "{wrapper}"
runtime_type = "oci"
runtime_root = "{runc}"

[crio.image]
signature_policy = "{policy}"
big_files_temporary_dir = "{tmp}"

[crio.network]
network_dir = "{cni_conf}"
plugin_dirs = ["{cni_bin}"]

[crio.metrics]
enable_metrics = false

[crio.tracing]
enable_tracing = false

[crio.nri]
enable_nri = false
"#,
        root = p("root"),
        runroot = p("runroot"),
        logs = p("logs"),
        socket = socket.display(),
        conmon = conmon.display(),
        ns = p("ns"),
        pinns = crio_binary("pinns").display(),
        exits = p("exits"),
        attach = p("attach"),
        keys = p("keys"),
        wrapper = runtime_wrapper().display(),
        runc = p("runc"),
        policy = p("policy.json"),
        tmp = p("tmp"),
        cni_conf = p("cni/net.d"),
        cni_bin = super::CNI_BIN,
    )
}

/// containers/image's registries: `localhost` (the sandbox image's
/// registry) and `also_mirrored` are pulled from `mirror` alone, over plain
/// HTTP; no short names, no search registries, so any other pull fails at
/// once.
fn registries_conf(mirror: &str, also_mirrored: &[&str]) -> String {
    let head = "unqualified-search-registries = []\nshort-name-mode = \"enforcing\"\n";
    let mirrored = std::iter::once("localhost").chain(also_mirrored.iter().copied());
    let entries = mirrored.map(|host| {
        format!(
            "\n[[registry]]\nprefix = \"{host}\"\nlocation = \"{host}\"\n\n\
             [[registry.mirror]]\nlocation = \"{mirror}\"\ninsecure = true\n"
        )
    });
    std::iter::once(head.to_string()).chain(entries).collect()
}

/// The same storage as crio.conf names, so that no /etc/containers file of
/// the host adds anything to it.
fn storage_conf(dir: &Path) -> String {
    format!(
        "[storage]\ndriver = \"overlay\"\ngraphroot = \"{}\"\nrunroot = \"{}\"\n",
        dir.join("root").display(),
        dir.join("runroot").display()
    )
}

/// A program `make deps-go` built from the CRI-O module: crio or pinns.
pub fn crio_binary(name: &str) -> PathBuf {
    repo::path(&format!("target/go/cri-o/bin/{name}"))
}
