//! kubelet's files: its configuration (cgroupfs, the node's containerd, TLS
//! bootstrap with certificate rotation and serving certificates from the
//! API, image GC settings a test may tighten) and its bootstrap kubeconfig,
//! which holds the bootstrap token and no client certificate.

use super::daemons::Ports;
use super::pki::Layout;
use crate::netns::NetNs;
use std::path::{Path, PathBuf};
use std::process::Command;

/// kubelet's own settings that tests vary.
#[derive(Clone, Debug)]
pub struct KubeletSettings {
    /// imageGCHighThresholdPercent / imageGCLowThresholdPercent: disk usage
    /// above high starts image GC, which frees down to low.
    pub image_gc_high: u8,
    pub image_gc_low: u8,
    /// failCgroupV1: kubelet 1.35 and later refuse a cgroup v1 host (this
    /// one) unless it is false; true shows what such a kubelet does.
    pub fail_cgroup_v1: bool,
}

impl Default for KubeletSettings {
    /// kubelet's defaults, but the one this cgroup v1 host needs.
    fn default() -> Self {
        KubeletSettings {
            image_gc_high: 85,
            image_gc_low: 80,
            fail_cgroup_v1: false,
        }
    }
}

pub struct KubeletFiles {
    pub config: PathBuf,
    pub bootstrap_kubeconfig: PathBuf,
    pub kubeconfig: PathBuf,
    pub root_dir: PathBuf,
    pub cert_dir: PathBuf,
    pub static_pods: PathBuf,
}

impl KubeletFiles {
    pub fn under(layout: &Layout) -> KubeletFiles {
        let k = layout.root.join("kubelet");
        KubeletFiles {
            config: k.join("config.yaml"),
            bootstrap_kubeconfig: k.join("bootstrap-kubelet.conf"),
            kubeconfig: k.join("kubelet.conf"),
            root_dir: k.join("root"),
            cert_dir: k.join("pki"),
            static_pods: k.join("manifests"),
        }
    }
}

/// What kubelet is told about its node.
pub struct NodeSpec<'a> {
    pub name: &'a str,
    pub ip: &'a str,
    pub cri_socket: &'a Path,
    /// The cgroup every pod goes under (kubelet's cgroupRoot), made beforehand.
    pub cgroup_root: &'a str,
    pub api_server: String,
    pub token: &'a str,
}

/// Writes the bootstrap kubeconfig (token, no certificate) and the
/// configuration; kubelet writes kubelet.conf once its client CSR is issued.
pub fn write_files(layout: &Layout, ports: &Ports, node: &NodeSpec, settings: &KubeletSettings) {
    let files = KubeletFiles::under(layout);
    for d in [&files.root_dir, &files.cert_dir, &files.static_pods] {
        std::fs::create_dir_all(d).unwrap();
    }
    std::fs::create_dir_all(layout.root.join("pod-logs")).unwrap();
    std::fs::write(
        &files.bootstrap_kubeconfig,
        bootstrap_kubeconfig(layout, node),
    )
    .unwrap();
    std::fs::write(&files.config, config(layout, ports, node, settings)).unwrap();
}

fn bootstrap_kubeconfig(layout: &Layout, node: &NodeSpec) -> String {
    format!(
        r#"apiVersion: v1
kind: Config
clusters:
- name: pause-e2e
  cluster:
    server: {server}
    certificate-authority: {ca}
users:
- name: kubelet-bootstrap
  user:
    token: {token}
contexts:
- name: bootstrap
  context: {{cluster: pause-e2e, user: kubelet-bootstrap}}
current-context: bootstrap
"#,
        server = node.api_server,
        ca = layout.cert("ca.crt"),
        token = node.token,
    )
}

fn config(layout: &Layout, ports: &Ports, node: &NodeSpec, s: &KubeletSettings) -> String {
    let files = KubeletFiles::under(layout);
    format!(
        r#"apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
address: {ip}
port: {port}
healthzBindAddress: 127.0.0.1
healthzPort: {healthz}
readOnlyPort: 0
containerRuntimeEndpoint: unix://{socket}
cgroupDriver: cgroupfs
cgroupRoot: /{cgroup_root}
# This host is cgroup v1: kubelet 1.35 and later refuse it unless told.
failCgroupV1: {fail_cgroup_v1}
failSwapOn: false
# CoreDNS's Service (kube::services), in every pod's resolv.conf.
clusterDNS: [{dns}]
clusterDomain: cluster.local
staticPodPath: {static_pods}
podLogsDirectory: {pod_logs}
authentication:
  anonymous: {{enabled: false}}
  webhook: {{enabled: true}}
  x509: {{clientCAFile: {ca}}}
authorization:
  mode: Webhook
rotateCertificates: true
serverTLSBootstrap: true
# kubelet's default, written out: 0s would be read as unset, so 2m too.
imageMinimumGCAge: 2m
imageGCHighThresholdPercent: {gc_high}
imageGCLowThresholdPercent: {gc_low}
# The host's disk fill must not evict the test's pods.
evictionHard: {{memory.available: 50Mi, nodefs.available: 1%, imagefs.available: 1%}}
"#,
        ip = node.ip,
        port = ports.kubelet,
        healthz = ports.kubelet_healthz,
        socket = node.cri_socket.display(),
        cgroup_root = node.cgroup_root,
        static_pods = files.static_pods.display(),
        pod_logs = layout.root.join("pod-logs").display(),
        ca = layout.cert("ca.crt"),
        gc_high = s.image_gc_high,
        gc_low = s.image_gc_low,
        fail_cgroup_v1 = s.fail_cgroup_v1,
        dns = super::services::CLUSTER_DNS,
    )
}

/// kubelet of `bin` in the namespace, joining as `node`.
pub fn command(netns: &NetNs, layout: &Layout, bin: &Path, node: &NodeSpec) -> Command {
    let files = KubeletFiles::under(layout);
    let mut cmd = netns.command(bin);
    cmd.arg(format!("--config={}", files.config.display()))
        .arg(format!(
            "--bootstrap-kubeconfig={}",
            files.bootstrap_kubeconfig.display()
        ))
        .arg(format!("--kubeconfig={}", files.kubeconfig.display()))
        .arg(format!("--root-dir={}", files.root_dir.display()))
        .arg(format!("--cert-dir={}", files.cert_dir.display()))
        .arg(format!("--hostname-override={}", node.name))
        .arg(format!("--node-ip={}", node.ip))
        .arg("--v=2");
    cmd
}
