//! The cluster's PKI and kubeconfigs, made the way kubeadm makes them for a
//! control-plane node, offline: `kubeadm init phase certs all` and
//! `kubeadm init phase kubeconfig`, from one kubeadm config file. Later,
//! with the API server up, `kubeadm init phase bootstrap-token` makes the
//! bootstrap token and the RBAC rules that let a node join with it.

use super::binaries::Release;
use crate::command::run;
use crate::netns::NetNs;
use std::path::{Path, PathBuf};

/// Where a cluster's files go, all under its temp dir.
pub struct Layout {
    pub root: PathBuf,
}

impl Layout {
    pub fn pki(&self) -> PathBuf {
        self.root.join("pki")
    }
    pub fn cert(&self, name: &str) -> String {
        self.pki().join(name).display().to_string()
    }
    pub fn kubeconfig(&self, name: &str) -> PathBuf {
        self.root.join("kubeconfig").join(format!("{name}.conf"))
    }
    pub fn kubeadm_config(&self) -> PathBuf {
        self.root.join("kubeadm.yaml")
    }
}

/// What the kubeadm config says about the cluster.
pub struct Identity<'a> {
    pub node_name: &'a str,
    pub node_ip: &'a str,
    pub api_port: u16,
    pub token: &'a str,
    pub cri_socket: &'a Path,
}

/// Service IPs: the API server's cluster IP is the first.
pub const SERVICE_CIDR: &str = "10.96.0.0/16";

/// Writes the kubeadm config and runs the offline phases: certificates, then
/// the kubeconfigs of the administrator, controller-manager and scheduler.
pub fn make(netns: &NetNs, layout: &Layout, id: &Identity) -> Result<(), String> {
    std::fs::create_dir_all(layout.root.join("kubeconfig")).unwrap();
    std::fs::write(layout.kubeadm_config(), kubeadm_config(layout, id)).unwrap();
    kubeadm(netns, layout, &["init", "phase", "certs", "all"])?;
    for which in ["admin", "super-admin", "controller-manager", "scheduler"] {
        let dir = layout.root.join("kubeconfig");
        let dir = dir.to_str().unwrap();
        kubeadm(
            netns,
            layout,
            &[
                "init",
                "phase",
                "kubeconfig",
                which,
                "--kubeconfig-dir",
                dir,
            ],
        )?;
    }
    Ok(())
}

/// What `kubeadm init` does once the API server answers, as the
/// super-admin (group system:masters): bind admin.conf's group
/// kubeadm:cluster-admins to cluster-admin, then `kubeadm init phase
/// bootstrap-token`: the token's Secret in kube-system, the cluster-info
/// ConfigMap, and the RBAC bindings that let the token's group post CSRs,
/// have node client CSRs approved, and rotate them.
pub fn bootstrap(netns: &NetNs, layout: &Layout) -> Result<(), String> {
    let super_admin = layout.kubeconfig("super-admin");
    let super_admin = super_admin.to_str().unwrap();
    let mut bind = netns.command(Release::NEWEST.bin("kubectl"));
    bind.args([
        "--kubeconfig",
        super_admin,
        "create",
        "clusterrolebinding",
        "kubeadm:cluster-admins",
    ])
    .args([
        "--clusterrole=cluster-admin",
        "--group=kubeadm:cluster-admins",
    ]);
    let r = run(bind);
    if !r.ok() {
        return Err(r.describe());
    }
    kubeadm(
        netns,
        layout,
        &[
            "init",
            "phase",
            "bootstrap-token",
            "--kubeconfig",
            super_admin,
        ],
    )
}

/// kubeadm in the cluster's network namespace, where its API server is.
fn kubeadm(netns: &NetNs, layout: &Layout, args: &[&str]) -> Result<(), String> {
    let mut c = netns.command(Release::NEWEST.bin("kubeadm"));
    c.args(args).arg("--config").arg(layout.kubeadm_config());
    let r = run(c);
    r.ok().then_some(()).ok_or_else(|| r.describe())
}

fn kubeadm_config(layout: &Layout, id: &Identity) -> String {
    format!(
        r#"apiVersion: kubeadm.k8s.io/v1beta4
kind: InitConfiguration
localAPIEndpoint:
  advertiseAddress: {ip}
  bindPort: {port}
nodeRegistration:
  name: {node}
  criSocket: unix://{socket}
bootstrapTokens:
- token: "{token}"
  ttl: 1h0m0s
  groups: [system:bootstrappers:kubeadm:default-node-token]
  usages: [signing, authentication]
---
apiVersion: kubeadm.k8s.io/v1beta4
kind: ClusterConfiguration
kubernetesVersion: {version}
clusterName: pause-e2e
certificatesDir: {pki}
networking:
  serviceSubnet: {SERVICE_CIDR}
  dnsDomain: cluster.local
"#,
        ip = id.node_ip,
        port = id.api_port,
        node = id.node_name,
        socket = id.cri_socket.display(),
        token = id.token,
        version = Release::NEWEST.version(),
        pki = layout.pki().display(),
    )
}
