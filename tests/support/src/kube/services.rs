//! What turns the node into a cluster that Kubernetes' conformance suite can
//! judge: Services (kube-proxy) and cluster DNS (CoreDNS).
//!
//! kube-proxy runs as a daemon of the node, like kubelet, in iptables mode
//! with the host's `iptables`: a kube-proxy image would need iptables and its
//! libraries inside it, and the rules it writes go to the cluster's network
//! namespace either way. CoreDNS is kubeadm's addon (`kubeadm init phase
//! addon coredns`: its Deployment, Service kube-dns, ConfigMap and RBAC as
//! every kubeadm cluster has them), its image pulled from the registry like
//! any pod's.

use super::binaries::Release;
use super::pki::Layout;
use crate::netns::NetNs;
use std::path::PathBuf;
use std::process::Command;

/// The pods' addresses (the CNI bridge's range, crate::cri::config):
/// kube-proxy masquerades what reaches a Service from outside it.
pub const POD_CIDR: &str = "10.77.0.0/24";

/// The cluster DNS Service's address: kubeadm gives kube-dns the tenth
/// address of the service range, and kubelet writes it into every pod's
/// resolv.conf.
pub const CLUSTER_DNS: &str = "10.96.0.10";

/// kube-proxy's configuration file.
pub fn kube_proxy_config(layout: &Layout) -> PathBuf {
    layout.root.join("kube-proxy.yaml")
}

/// Writes kube-proxy's configuration for the node `node_name`.
pub fn write_kube_proxy_config(layout: &Layout, node_name: &str) {
    let config = format!(
        r#"apiVersion: kubeproxy.config.k8s.io/v1alpha1
kind: KubeProxyConfiguration
# As the administrator: kubeadm's kube-proxy authenticates with its
# DaemonSet's ServiceAccount token, which a daemon outside a pod has not.
clientConnection:
  kubeconfig: {kubeconfig}
hostnameOverride: {node_name}
mode: iptables
clusterCIDR: {POD_CIDR}
conntrack:
  # 0 leaves the host's conntrack table size alone: it is one for the whole
  # machine and read-only outside the host's network namespace, so a
  # kube-proxy that sets it exits.
  maxPerCore: 0
  min: 0
"#,
        kubeconfig = layout.kubeconfig("admin").display(),
    );
    std::fs::write(kube_proxy_config(layout), config).unwrap();
}

/// The node's route to the Service range, as a real node's default route
/// gives it: the kernel picks a route before kube-proxy's rules rewrite the
/// address, so without one the API server's calls to a webhook or an
/// aggregated API's Service (and a host-network pod's) fail with "network
/// is unreachable". The loopback device and the node's address serve:
/// every packet to a Service with endpoints is rewritten before it leaves.
pub fn route_services_command(netns: &NetNs, node_ip: &str) -> Command {
    let mut cmd = netns.command("ip");
    cmd.args([
        "route",
        "add",
        super::pki::SERVICE_CIDR,
        "dev",
        "lo",
        "src",
        node_ip,
    ]);
    cmd
}

/// kube-proxy (the newest) in the namespace, with its configuration.
pub fn kube_proxy_command(netns: &NetNs, layout: &Layout) -> Command {
    let mut cmd = netns.command(Release::NEWEST.bin("kube-proxy"));
    cmd.arg(format!("--config={}", kube_proxy_config(layout).display()))
        .arg("--v=2");
    cmd
}

/// `kubeadm init phase addon coredns`: CoreDNS's objects, made in the
/// cluster as the administrator, from the cluster's kubeadm config.
pub fn coredns_addon_command(netns: &NetNs, layout: &Layout) -> Command {
    let mut cmd = netns.command(Release::NEWEST.bin("kubeadm"));
    cmd.args(["init", "phase", "addon", "coredns"])
        .arg("--config")
        .arg(layout.kubeadm_config())
        .arg("--kubeconfig")
        .arg(layout.kubeconfig("admin"));
    cmd
}
