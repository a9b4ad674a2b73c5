//! The Kubernetes and etcd commands tests/go/build.sh (`make deps-go`) built
//! from the versions tests/go/pins.txt pins, under target/go/NAME/bin/.

use crate::repo;
use std::path::PathBuf;

/// A Kubernetes release the harness runs: the name of its pin in
/// tests/go/pins.txt, which is also its directory under target/go/.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Release(pub &'static str);

impl Release {
    /// The newest release: the control plane, and one of the two kubelets.
    pub const NEWEST: Release = Release("kubernetes-1.37");
    /// The last minor whose kubelet starts on a cgroup v1 host by default.
    pub const V1_34: Release = Release("kubernetes-1.34");

    pub fn bin(self, command: &str) -> PathBuf {
        repo::path(&format!("target/go/{}/bin/{command}", self.0))
    }

    /// The exact version its pin names (`v1.37.2`).
    pub fn version(self) -> String {
        pinned_version(self.0)
    }
}

/// The etcd server the control plane stores its state in.
pub fn etcd() -> PathBuf {
    repo::path("target/go/etcd/bin/etcd")
}

/// The version tests/go/pins.txt gives `name`.
fn pinned_version(name: &str) -> String {
    let pins = repo::path("tests/go/pins.txt");
    let text = std::fs::read_to_string(&pins).unwrap_or_else(|e| panic!("{}: {e}", pins.display()));
    text.lines()
        .map(|l| l.split('#').next().unwrap_or_default())
        .map(|l| l.split_whitespace().collect::<Vec<_>>())
        .find(|cols| cols.first() == Some(&name))
        .and_then(|cols| cols.get(2).map(|v| v.to_string()))
        .unwrap_or_else(|| panic!("{} pins no {name}", pins.display()))
}

/// What is missing to run a cluster with `kubelet` as its node's kubelet.
pub fn missing(kubelet: Release) -> Option<String> {
    let control = [
        "kube-apiserver",
        "kube-controller-manager",
        "kube-scheduler",
        "kubeadm",
        "kubectl",
    ];
    let wanted = control
        .iter()
        .map(|c| Release::NEWEST.bin(c))
        .chain([kubelet.bin("kubelet"), etcd()]);
    wanted
        .into_iter()
        .find(|p| !p.is_file())
        .map(|p| format!("{} missing: run `make deps-go`", p.display()))
}
