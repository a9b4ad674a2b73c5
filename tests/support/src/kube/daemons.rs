//! The command lines of the control plane's daemons and of kubelet, with the
//! flags kubeadm's static pod manifests give them, pointed at the cluster's
//! temp dir and its loopback ports. Each is started in the cluster's
//! network namespace, logging to LOGDIR/NAME.log.

use super::binaries::{Release, etcd};
use super::pki::{Layout, SERVICE_CIDR};
use crate::netns::NetNs;
use std::process::{Child, Command, Stdio};

/// The ports the daemons listen on, each found free in the namespace.
#[derive(Clone, Copy, Debug)]
pub struct Ports {
    pub api: u16,
    pub etcd_client: u16,
    pub etcd_peer: u16,
    pub controller_manager: u16,
    pub scheduler: u16,
    pub kubelet: u16,
    pub kubelet_healthz: u16,
}

/// Starts `command` (made by [`NetNs::command`]) with its output appended
/// to NAME.log: a restarted daemon's log follows its first run's.
pub fn spawn(layout: &Layout, name: &str, mut command: Command) -> Child {
    let log = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(log_path(layout, name))
        .unwrap();
    command
        .stdin(Stdio::null())
        .stdout(log.try_clone().unwrap())
        .stderr(log)
        .spawn()
        .unwrap_or_else(|e| panic!("start {name}: {e}"))
}

pub fn log_path(layout: &Layout, name: &str) -> std::path::PathBuf {
    layout.root.join(format!("{name}.log"))
}

/// The last lines a daemon logged, for failure messages.
pub fn log_tail(layout: &Layout, name: &str, lines: usize) -> String {
    let log = std::fs::read_to_string(log_path(layout, name)).unwrap_or_default();
    let all: Vec<&str> = log.lines().collect();
    all[all.len().saturating_sub(lines)..].join("\n")
}

/// The last error a Kubernetes daemon logged (klog's `E` lines), which
/// names why it exited; the quoted `err` field alone when it has one.
pub fn last_error(layout: &Layout, name: &str) -> Option<String> {
    let log = std::fs::read_to_string(log_path(layout, name)).ok()?;
    let line = log.lines().rev().find(|l| l.starts_with('E'))?;
    let err = line
        .split_once(" err=\"")
        .map(|(_, e)| e.trim_end_matches('"').replace("\\\"", "\""));
    Some(err.unwrap_or_else(|| line.to_string()))
}

pub fn etcd_command(netns: &NetNs, layout: &Layout, ports: &Ports) -> Command {
    let c = |f: &str| layout.cert(f);
    let client = format!("https://127.0.0.1:{}", ports.etcd_client);
    let peer = format!("https://127.0.0.1:{}", ports.etcd_peer);
    let mut cmd = netns.command(etcd());
    cmd.arg("--name=node")
        .arg(format!("--data-dir={}", layout.root.join("etcd").display()))
        .arg(format!("--listen-client-urls={client}"))
        .arg(format!("--advertise-client-urls={client}"))
        .arg(format!("--listen-peer-urls={peer}"))
        .arg(format!("--initial-advertise-peer-urls={peer}"))
        .arg(format!("--initial-cluster=node={peer}"))
        .arg(format!("--cert-file={}", c("etcd/server.crt")))
        .arg(format!("--key-file={}", c("etcd/server.key")))
        .arg(format!("--trusted-ca-file={}", c("etcd/ca.crt")))
        .arg("--client-cert-auth=true")
        .arg(format!("--peer-cert-file={}", c("etcd/peer.crt")))
        .arg(format!("--peer-key-file={}", c("etcd/peer.key")))
        .arg(format!("--peer-trusted-ca-file={}", c("etcd/ca.crt")))
        .arg("--peer-client-cert-auth=true")
        .arg("--listen-metrics-urls=")
        // A test cluster's state need not survive a power cut; fsync on a
        // shared two-core machine would make every write slow.
        .arg("--unsafe-no-fsync=true");
    cmd
}

pub fn apiserver_command(netns: &NetNs, layout: &Layout, ports: &Ports, node_ip: &str) -> Command {
    let c = |f: &str| layout.cert(f);
    let mut cmd = netns.command(Release::NEWEST.bin("kube-apiserver"));
    cmd.arg(format!("--advertise-address={node_ip}"))
        .arg(format!("--secure-port={}", ports.api))
        .arg(format!(
            "--cert-dir={}",
            layout.root.join("apiserver").display()
        ))
        .arg("--allow-privileged=true")
        .arg("--authorization-mode=Node,RBAC")
        .arg("--enable-admission-plugins=NodeRestriction")
        .arg("--enable-bootstrap-token-auth=true")
        .arg(format!("--client-ca-file={}", c("ca.crt")))
        .arg(format!("--tls-cert-file={}", c("apiserver.crt")))
        .arg(format!("--tls-private-key-file={}", c("apiserver.key")))
        .arg(format!(
            "--etcd-servers=https://127.0.0.1:{}",
            ports.etcd_client
        ))
        .arg(format!("--etcd-cafile={}", c("etcd/ca.crt")))
        .arg(format!(
            "--etcd-certfile={}",
            c("apiserver-etcd-client.crt")
        ))
        .arg(format!("--etcd-keyfile={}", c("apiserver-etcd-client.key")))
        .arg(format!(
            "--kubelet-client-certificate={}",
            c("apiserver-kubelet-client.crt")
        ))
        .arg(format!(
            "--kubelet-client-key={}",
            c("apiserver-kubelet-client.key")
        ))
        .arg("--kubelet-preferred-address-types=InternalIP")
        .arg(format!(
            "--proxy-client-cert-file={}",
            c("front-proxy-client.crt")
        ))
        .arg(format!(
            "--proxy-client-key-file={}",
            c("front-proxy-client.key")
        ))
        .arg(format!(
            "--requestheader-client-ca-file={}",
            c("front-proxy-ca.crt")
        ))
        .arg("--requestheader-allowed-names=front-proxy-client")
        .arg("--requestheader-extra-headers-prefix=X-Remote-Extra-")
        .arg("--requestheader-group-headers=X-Remote-Group")
        .arg("--requestheader-username-headers=X-Remote-User")
        .arg("--service-account-issuer=https://kubernetes.default.svc.cluster.local")
        .arg(format!("--service-account-key-file={}", c("sa.pub")))
        .arg(format!(
            "--service-account-signing-key-file={}",
            c("sa.key")
        ))
        .arg(format!("--service-cluster-ip-range={SERVICE_CIDR}"));
    cmd
}

pub fn controller_manager_command(netns: &NetNs, layout: &Layout, ports: &Ports) -> Command {
    let c = |f: &str| layout.cert(f);
    let kubeconfig = layout
        .kubeconfig("controller-manager")
        .display()
        .to_string();
    let mut cmd = netns.command(Release::NEWEST.bin("kube-controller-manager"));
    cmd.arg(format!("--kubeconfig={kubeconfig}"))
        .arg(format!("--authentication-kubeconfig={kubeconfig}"))
        .arg(format!("--authorization-kubeconfig={kubeconfig}"))
        .arg("--bind-address=127.0.0.1")
        .arg(format!("--secure-port={}", ports.controller_manager))
        .arg("--leader-elect=false")
        .arg("--cluster-name=pause-e2e")
        // bootstrapsigner and tokencleaner are off by default; kubeadm turns them on.
        .arg("--controllers=*,bootstrapsigner,tokencleaner")
        .arg(format!("--cluster-signing-cert-file={}", c("ca.crt")))
        .arg(format!("--cluster-signing-key-file={}", c("ca.key")))
        .arg(format!("--root-ca-file={}", c("ca.crt")))
        .arg(format!(
            "--service-account-private-key-file={}",
            c("sa.key")
        ))
        .arg(format!(
            "--requestheader-client-ca-file={}",
            c("front-proxy-ca.crt")
        ))
        .arg("--use-service-account-credentials=true");
    cmd
}

pub fn scheduler_command(netns: &NetNs, layout: &Layout, ports: &Ports) -> Command {
    let kubeconfig = layout.kubeconfig("scheduler").display().to_string();
    let mut cmd = netns.command(Release::NEWEST.bin("kube-scheduler"));
    cmd.arg(format!("--kubeconfig={kubeconfig}"))
        .arg(format!("--authentication-kubeconfig={kubeconfig}"))
        .arg(format!("--authorization-kubeconfig={kubeconfig}"))
        .arg("--bind-address=127.0.0.1")
        .arg(format!("--secure-port={}", ports.scheduler))
        .arg("--leader-elect=false");
    cmd
}
