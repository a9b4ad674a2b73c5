//! A private containerd with its CRI plugin, or a private CRI-O
//! ([`CrioNode`], [`crio`], [`crio_config`]), started for one test and torn
//! down after it, driven through the CRI gRPC API the way kubelet drives it.
//! [`Cri`] (`client`) is the connection either node derefs to: the CRI
//! calls of `pods`, `containers`, `images` and `gc` are its methods.
//!
//! Everything lives in a temp dir: config, socket, root, state, runc root, CNI
//! config and IPAM data, pinned network namespaces. containerd runs in a new
//! network namespace of its own (loopback up), so the CNI bridge, the pods'
//! addresses and a hostNetwork pod's "node" network never touch the host's.
//! Images come from OCI archives imported with `ctr`, or, on a node started
//! with [`Node::start_pulling_from`], from that [`crate::registry::Registry`]
//! as the mirror of the sandbox image's registry; every other registry (and
//! mirror) is 127.0.0.1:9, so an accidental pull fails at once.
//!
//! Which containerd and config dialect a node runs is a [`Containerd`]
//! ([`matrix`]): Debian 12's 1.6, or a version pinned in
//! tests/debian-pins.txt. The steps: [`config`] writes what containerd reads,
//! [`node`] starts, connects and stops it, `pods`, `containers` and `images`
//! are the CRI calls a test makes, `gc` is kubelet's image garbage
//! collection, `events` is `ctr`'s view, `host` finds and removes what a
//! node left behind, [`workload`] packs the test workload's image.

mod client;
mod config;
mod containers;
mod crio;
mod crio_config;
mod events;
mod gc;
mod host;
mod images;
mod matrix;
mod node;
mod pods;
mod workload;

use crate::ci;
use std::path::Path;

pub use config::{
    CNI_BIN, kind_patches, merge_toml, read_toml, sandbox_image_of, sandbox_image_toml,
};
/// The CRI API types, for suites that build their own requests.
pub use k8s_cri::v1 as api;
pub use k8s_cri::v1::NamespaceMode;
/// A CRI runtime client of a node ([`Node::runtime`]), for suites that make
/// calls of their own, concurrently.
pub type RuntimeClient =
    api::runtime_service_client::RuntimeServiceClient<tonic::transport::Channel>;
pub use client::Cri;
pub use crio::{CrioNode, can_run_crio};
pub use crio_config::{crio_binary, deploy_dropin as crio_deploy_dropin};
pub use matrix::{Containerd, Dialect, PINS};
pub use node::Node;
pub use pods::Sandbox;
pub use workload::{Workload, pack_workload, workload_bin};

/// What a node needs and this machine may not have; returns why not.
pub fn missing_requirements() -> Option<String> {
    if !ci::is_root() {
        return Some("needs root (containerd, runc, mounts)".into());
    }
    let tools = [
        "containerd",
        "containerd-shim-runc-v2",
        "ctr",
        "runc",
        "unshare",
        "ip",
    ];
    if let Some(tool) = tools.iter().find(|t| ci::which(t).is_none()) {
        return Some(format!("{tool} not found: run `make deps`"));
    }
    let plugins = ["bridge", "host-local", "loopback"];
    if let Some(plugin) = plugins
        .iter()
        .find(|p| !Path::new(CNI_BIN).join(p).exists())
    {
        return Some(format!(
            "CNI plugin {CNI_BIN}/{plugin} missing: run `make deps`"
        ));
    }
    None
}

/// Whether a node of Debian 12's containerd can run here ([`ci::require`]:
/// a failure in CI, a loud skip elsewhere).
pub fn can_run() -> bool {
    can_run_on(Containerd::SYSTEM)
}

/// Whether a node of `containerd` can run here: the system's tools, and the
/// fetched version's binaries.
pub fn can_run_on(containerd: Containerd) -> bool {
    let missing = missing_requirements().or_else(|| containerd.missing());
    ci::require(missing.is_none(), missing.as_deref().unwrap_or_default())
}
