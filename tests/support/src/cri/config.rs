//! What a node's containerd reads: its TOML config (a base of our own with
//! deploy/containerd/sandbox-image.toml merged in, as kind merges its
//! containerdConfigPatches) and the CNI network of its pods.

use crate::repo;
use std::path::{Path, PathBuf};

/// Where Debian's containernetworking-plugins puts the CNI plugins.
pub const CNI_BIN: &str = "/usr/lib/cni";

/// The subdirectories of a node's temp dir that containerd, runc and CNI
/// write to.
const DIRS: [&str; 7] = [
    "root",
    "state",
    "runc",
    "cni/net.d",
    "cni/ipam",
    "logs",
    "opt",
];

/// deploy/containerd/sandbox-image.toml: the sandbox image setting shared
/// with the kind recipe.
pub fn sandbox_image_toml() -> PathBuf {
    repo::path("deploy/containerd/sandbox-image.toml")
}

/// Deep-merges `patch` into `base`: tables merge key by key, anything else is
/// replaced. The same semantics as kind's containerdConfigPatches.
pub fn merge_toml(base: &mut toml::Table, patch: &toml::Table) {
    for (k, v) in patch {
        match (base.get_mut(k), v) {
            (Some(toml::Value::Table(b)), toml::Value::Table(p)) => merge_toml(b, p),
            _ => {
                base.insert(k.clone(), v.clone());
            }
        }
    }
}

pub fn read_toml(path: &Path) -> toml::Table {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    text.parse()
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// The sandbox image a containerd 1.6/1.7 config (version 2) names.
pub fn sandbox_image_of(config: &toml::Table) -> Option<String> {
    config
        .get("plugins")?
        .get("io.containerd.grpc.v1.cri")?
        .get("sandbox_image")?
        .as_str()
        .map(str::to_string)
}

/// Lays out `dir` for a node: its directories, `config.toml` and the CNI
/// conflist. Returns the containerd config written.
pub(super) fn prepare(dir: &Path, socket: &Path) -> toml::Table {
    for sub in DIRS {
        std::fs::create_dir_all(dir.join(sub)).unwrap();
    }
    let mut config = containerd_base(dir, socket);
    merge_toml(&mut config, &read_toml(&sandbox_image_toml()));
    std::fs::write(config_path(dir), toml::to_string(&config).unwrap()).unwrap();
    write_cni_conflist(dir);
    config
}

pub(super) fn config_path(dir: &Path) -> PathBuf {
    dir.join("config.toml")
}

/// Our containerd: everything under `dir`, only the overlayfs snapshotter,
/// runc with cgroupfs, CNI from [`CNI_BIN`], and every registry a dead mirror.
fn containerd_base(dir: &Path, socket: &Path) -> toml::Table {
    let p = |s: &str| dir.join(s).display().to_string();
    let base = format!(
        r#"
version = 2
root = "{root}"
state = "{state}"
disabled_plugins = [
  "io.containerd.snapshotter.v1.aufs", "io.containerd.snapshotter.v1.btrfs",
  "io.containerd.snapshotter.v1.devmapper", "io.containerd.snapshotter.v1.zfs",
  "io.containerd.tracing.processor.v1.otlp", "io.containerd.internal.v1.tracing",
]
[grpc]
  address = "{sock}"
[ttrpc]
  address = "{sock}.ttrpc"
[debug]
  address = ""
[metrics]
  address = ""
[plugins."io.containerd.internal.v1.opt"]
  path = "{opt}"
[plugins."io.containerd.grpc.v1.cri"]
  restrict_oom_score_adj = true
  netns_mounts_under_state_dir = true
  enable_selinux = false
  [plugins."io.containerd.grpc.v1.cri".containerd]
    snapshotter = "overlayfs"
    default_runtime_name = "runc"
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
        SystemdCgroup = false
        Root = "{runc}"
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = "{cni_bin}"
    conf_dir = "{cni_conf}"
    max_conf_num = 1
  [plugins."io.containerd.grpc.v1.cri".registry.mirrors."docker.io"]
    endpoint = ["http://127.0.0.1:9"]
  [plugins."io.containerd.grpc.v1.cri".registry.mirrors."registry.k8s.io"]
    endpoint = ["http://127.0.0.1:9"]
  [plugins."io.containerd.grpc.v1.cri".registry.mirrors."*"]
    endpoint = ["http://127.0.0.1:9"]
"#,
        root = p("root"),
        state = p("state"),
        sock = socket.display(),
        opt = p("opt"),
        runc = p("runc"),
        cni_bin = CNI_BIN,
        cni_conf = p("cni/net.d"),
    );
    base.parse().expect("base containerd config")
}

/// The pod network: a bridge inside containerd's own network namespace.
/// containerd adds the loopback interface itself (CNI `loopback`).
fn write_cni_conflist(dir: &Path) {
    let cni = serde_json::json!({
        "cniVersion": "0.4.0",
        "name": "pause-cri",
        "plugins": [{
            "type": "bridge",
            "bridge": "pausecri0",
            "isGateway": true,
            "ipMasq": false,
            "ipam": {
                "type": "host-local",
                "ranges": [[{"subnet": "10.77.0.0/24"}]],
                "dataDir": dir.join("cni/ipam").display().to_string(),
            },
        }],
    });
    std::fs::write(
        dir.join("cni/net.d/10-pause-cri.conflist"),
        serde_json::to_vec_pretty(&cni).unwrap(),
    )
    .unwrap();
}
