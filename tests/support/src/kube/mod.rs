//! A one-node Kubernetes cluster for a test: kubelet and a control plane
//! built from Kubernetes' own Go module (tests/go, `make deps-go`), the node's
//! runtime a [`crate::cri::Node`] pulling the sandbox image from the
//! project's registry, the node joining by TLS bootstrap as kubeadm's nodes
//! do, and a `kube` client as the cluster's administrator.
//!
//! [`binaries`] finds the built commands, [`pki`] runs kubeadm's offline
//! phases, [`daemons`] and [`kubelet`] hold the command lines and config
//! files, [`services`] adds kube-proxy and CoreDNS where a suite needs them,
//! [`client`] is the API client, and [`cluster`] starts it all and
//! registers it with the harness's teardown ([`crate::teardown`]).

pub mod binaries;
pub mod client;
pub mod cluster;
pub mod daemons;
pub mod kubelet;
pub mod pki;
pub mod services;

pub use binaries::Release;
pub use client::Kube;
pub use cluster::{Addons, Cluster, NODE_IP, Options};
/// The API's types, for suites.
pub use k8s_openapi;
pub use kube as client_lib;
pub use kubelet::KubeletSettings;
