//! What a node's containerd reads: its TOML config (a base of our own in the
//! dialect's config version, with the dialect's deploy/ recipe merged in, as
//! kind merges its containerdConfigPatches), the registry hosts it may pull
//! from (none that answers, but for an optional mirror of the sandbox
//! image's registry), and the CNI network of its pods.

use super::matrix::{Containerd, Dialect};
use crate::repo;
use std::path::{Path, PathBuf};

/// Where Debian's containernetworking-plugins puts the CNI plugins.
pub const CNI_BIN: &str = "/usr/lib/cni";

/// The subdirectories of a node's temp dir that containerd, runc and CNI
/// write to.
const DIRS: [&str; 8] = [
    "root",
    "state",
    "runc",
    "cni/net.d",
    "cni/ipam",
    "logs",
    "opt",
    "certs.d",
];

/// Where every pull goes instead of a registry: the discard port on
/// loopback, where nothing listens, so an accidental pull fails at once.
const DEAD_REGISTRY: &str = "http://127.0.0.1:9";
/// The registries a node knows by name; `_default` stands for any other
/// (containerd 1.7 and later).
const REGISTRY_HOSTS: [&str; 3] = ["docker.io", "registry.k8s.io", "_default"];

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

/// The sandbox image a containerd config names: `sandbox_image` in a
/// version 2 config (1.6, 1.7, and kind's nodes), the pinned image "sandbox"
/// in a version 3 config (2.x).
pub fn sandbox_image_of(config: &toml::Table) -> Option<String> {
    let plugins = config.get("plugins")?;
    let image = match config.get("version")?.as_integer()? {
        3 => plugins
            .get("io.containerd.cri.v1.images")?
            .get("pinned_images")?
            .get("sandbox")?,
        _ => plugins
            .get("io.containerd.grpc.v1.cri")?
            .get("sandbox_image")?,
    };
    image.as_str().map(str::to_string)
}

/// The containerd config patches deploy/kind/kind-config.yaml gives kind,
/// each parsed.
pub fn kind_patches() -> Vec<toml::Table> {
    #[derive(serde::Deserialize)]
    #[serde(rename_all = "camelCase")]
    struct Cluster {
        containerd_config_patches: Vec<String>,
    }
    let path = repo::path("deploy/kind/kind-config.yaml");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let cluster: Cluster =
        serde_saphyr::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let patches = cluster.containerd_config_patches.iter();
    patches
        .map(|p| {
            p.parse()
                .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        })
        .collect()
}

/// The deploy/ recipe a dialect merges into the base config.
fn recipe(dialect: Dialect) -> Vec<toml::Table> {
    match dialect {
        Dialect::SandboxImage => vec![read_toml(&sandbox_image_toml())],
        Dialect::PinnedImagesV3 => vec![read_toml(&repo::path(
            "deploy/containerd/pinned-images-v3.toml",
        ))],
        Dialect::KindPatch => kind_patches(),
    }
}

/// Lays out `dir` for a node: its directories, `config.toml`, the registry
/// hosts and the CNI conflist. With `mirror` (an `http://host:port`
/// endpoint), the sandbox image's registry and the `also_mirrored` ones are
/// pulled from there; every other registry stays dead. Returns the
/// containerd config written.
pub(super) fn prepare(
    dir: &Path,
    socket: &Path,
    containerd: &Containerd,
    mirror: Option<&str>,
    also_mirrored: &[&str],
) -> toml::Table {
    for sub in DIRS {
        std::fs::create_dir_all(dir.join(sub)).unwrap();
    }
    let mut config = match containerd.dialect {
        Dialect::PinnedImagesV3 => containerd_v3_base(dir, socket),
        _ => containerd_v2_base(dir, socket, containerd.uses_hosts_toml()),
    };
    for patch in recipe(containerd.dialect) {
        merge_toml(&mut config, &patch);
    }
    let image_host = sandbox_image_of(&config).map(|image| registry_host(&image));
    let mut hosts: Vec<&str> = image_host.iter().map(String::as_str).collect();
    hosts.extend(also_mirrored);
    let mirrored: Vec<(&str, &str)> = mirror
        .map(|m| hosts.iter().map(|h| (m, *h)).collect())
        .unwrap_or_default();
    if !containerd.uses_hosts_toml() {
        for (mirror, host) in &mirrored {
            merge_toml(&mut config, &mirrors_table(host, mirror));
        }
    }
    std::fs::write(config_path(dir), toml::to_string(&config).unwrap()).unwrap();
    write_registry_hosts(dir, &mirrored);
    write_cni_conflist(dir);
    config
}

pub(super) fn config_path(dir: &Path) -> PathBuf {
    dir.join("config.toml")
}

/// The plugins no node needs; NRI would share its socket under /var/run
/// with every other containerd on the machine.
const DISABLED_PLUGINS: &str = r#"disabled_plugins = [
  "io.containerd.snapshotter.v1.aufs", "io.containerd.snapshotter.v1.btrfs",
  "io.containerd.snapshotter.v1.devmapper", "io.containerd.snapshotter.v1.zfs",
  "io.containerd.tracing.processor.v1.otlp", "io.containerd.internal.v1.tracing",
  "io.containerd.nri.v1.nri",
]"#;

/// The registry part of a version 2 config: `config_path`, the hosts.toml
/// files under `certs.d`, or, for 1.6, the `registry.mirrors` table that
/// 1.6-era configs use, every registry's mirror the dead port.
fn registry_v2(dir: &Path, hosts_toml: bool) -> String {
    let cri = r#"[plugins."io.containerd.grpc.v1.cri".registry"#;
    if hosts_toml {
        return format!(
            "{cri}]\n  config_path = \"{}\"\n",
            dir.join("certs.d").display()
        );
    }
    ["docker.io", "registry.k8s.io", "*"]
        .map(|h| format!("{cri}.mirrors.\"{h}\"]\n  endpoint = [\"{DEAD_REGISTRY}\"]\n"))
        .concat()
}

/// What every node's containerd shares, in either config version: its own
/// root, state and sockets under `dir`, no debug or metrics listener, and
/// only the plugins a CRI node needs.
fn server_section(version: u8, dir: &Path, socket: &Path) -> String {
    let p = |s: &str| dir.join(s).display().to_string();
    format!(
        r#"
version = {version}
root = "{root}"
state = "{state}"
{DISABLED_PLUGINS}
[grpc]
  address = "{sock}"
[ttrpc]
  address = "{sock}.ttrpc"
[debug]
  address = ""
[metrics]
  address = ""
[plugins."io.containerd.internal.v1.opt"]
  path = "{opt}""#,
        root = p("root"),
        state = p("state"),
        sock = socket.display(),
        opt = p("opt"),
    )
}

/// Our containerd in config version 2: everything under `dir`, only the
/// overlayfs snapshotter, runc with cgroupfs, CNI from [`CNI_BIN`], and
/// every registry dead.
fn containerd_v2_base(dir: &Path, socket: &Path, hosts_toml: bool) -> toml::Table {
    let p = |s: &str| dir.join(s).display().to_string();
    let base = format!(
        r#"{server}
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
    # runc again under the name Kubernetes' e2e suite gives its RuntimeClass
    # (`test-handler`), as kind's nodes have it.
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.test-handler]
      runtime_type = "io.containerd.runc.v2"
      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.test-handler.options]
        SystemdCgroup = false
        Root = "{runc}"
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = "{cni_bin}"
    conf_dir = "{cni_conf}"
    max_conf_num = 1
{registry}"#,
        server = server_section(2, dir, socket),
        runc = p("runc"),
        cni_bin = CNI_BIN,
        cni_conf = p("cni/net.d"),
        registry = registry_v2(dir, hosts_toml),
    );
    base.parse().expect("base containerd config")
}

/// The same node in config version 3 (containerd 2.x): the CRI plugin is
/// split into images (snapshotter, registry), runtime (runc, CNI) and the
/// gRPC server.
fn containerd_v3_base(dir: &Path, socket: &Path) -> toml::Table {
    let p = |s: &str| dir.join(s).display().to_string();
    let base = format!(
        r#"{server}
[plugins."io.containerd.cri.v1.images"]
  snapshotter = "overlayfs"
  [plugins."io.containerd.cri.v1.images".registry]
    config_path = "{certs}"
[plugins."io.containerd.cri.v1.runtime"]
  restrict_oom_score_adj = true
  netns_mounts_under_state_dir = true
  enable_selinux = false
  [plugins."io.containerd.cri.v1.runtime".containerd]
    default_runtime_name = "runc"
    [plugins."io.containerd.cri.v1.runtime".containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
      [plugins."io.containerd.cri.v1.runtime".containerd.runtimes.runc.options]
        SystemdCgroup = false
        Root = "{runc}"
    # runc again under the name Kubernetes' e2e suite gives its RuntimeClass
    # (`test-handler`), as kind's nodes have it.
    [plugins."io.containerd.cri.v1.runtime".containerd.runtimes.test-handler]
      runtime_type = "io.containerd.runc.v2"
      [plugins."io.containerd.cri.v1.runtime".containerd.runtimes.test-handler.options]
        SystemdCgroup = false
        Root = "{runc}"
  [plugins."io.containerd.cri.v1.runtime".cni]
    bin_dirs = ["{cni_bin}"]
    conf_dir = "{cni_conf}"
    max_conf_num = 1
"#,
        server = server_section(3, dir, socket),
        certs = p("certs.d"),
        runc = p("runc"),
        cni_bin = CNI_BIN,
        cni_conf = p("cni/net.d"),
    );
    base.parse().expect("base containerd config, version 3")
}

/// The registry host of an image reference, as containerd reads it: the
/// first component when it has a dot or a port or is `localhost`, else
/// Docker Hub.
fn registry_host(image: &str) -> String {
    match image.split_once('/') {
        Some((first, _)) if first.contains(['.', ':']) || first == "localhost" => first.into(),
        _ => "docker.io".into(),
    }
}

/// For 1.6: `host`'s entry in the `registry.mirrors` table, the mirror
/// alone (replacing the dead port if `host` had it).
fn mirrors_table(host: &str, mirror: &str) -> toml::Table {
    let cri = r#"[plugins."io.containerd.grpc.v1.cri".registry"#;
    format!("{cri}.mirrors.\"{host}\"]\n  endpoint = [\"{mirror}\"]\n")
        .parse()
        .expect("mirrors table")
}

/// certs.d/HOST/hosts.toml for every registry name: the registry itself
/// (`server`) and its only mirror are the dead port, so nothing falls back
/// to a real registry; each `(mirror, host)` makes `mirror` that host's
/// mirror instead. Read by every version but 1.6.
fn write_registry_hosts(dir: &Path, mirrored: &[(&str, &str)]) {
    let hosts = REGISTRY_HOSTS.iter().copied();
    for host in hosts.chain(mirrored.iter().map(|(_, host)| *host)) {
        let d = dir.join("certs.d").join(host);
        std::fs::create_dir_all(&d).unwrap();
        let mirror = mirrored
            .iter()
            .find(|(_, h)| *h == host)
            .map_or(DEAD_REGISTRY, |(mirror, _)| mirror);
        let hosts = format!(
            "server = \"{DEAD_REGISTRY}\"\n\n[host.\"{mirror}\"]\n  capabilities = [\"pull\", \"resolve\"]\n"
        );
        std::fs::write(d.join("hosts.toml"), hosts).unwrap();
    }
}

/// The pod network: a bridge inside the runtime's own network namespace,
/// and host ports (`portmap`, which containerd needs for a pod's hostPort;
/// CRI-O maps them itself). The runtime adds the loopback interface itself
/// (CNI `loopback`).
pub(super) fn write_cni_conflist(dir: &Path) {
    let cni = serde_json::json!({
        "cniVersion": "0.4.0",
        "name": "pause-cri",
        "plugins": [{
            "type": "bridge",
            "bridge": "pausecri0",
            "isGateway": true,
            "ipMasq": false,
            // A pod that reaches itself through a Service's address (kube-proxy
            // sends the packet back out of the port it came in by).
            "hairpinMode": true,
            "ipam": {
                "type": "host-local",
                "ranges": [[{"subnet": "10.77.0.0/24"}]],
                // The bridge as the pods' default route: Service addresses
                // (kube-proxy's rules, in the runtime's namespace) lie outside
                // the pods' subnet.
                "routes": [{"dst": "0.0.0.0/0"}],
                "dataDir": dir.join("cni/ipam").display().to_string(),
            },
        }, {
            "type": "portmap",
            "capabilities": {"portMappings": true},
        }],
    });
    std::fs::write(
        dir.join("cni/net.d/10-pause-cri.conflist"),
        serde_json::to_vec_pretty(&cni).unwrap(),
    )
    .unwrap();
}
