//! What every test suite of pause and its benchmarks share, in one place:
//! the CI rule for missing prerequisites, deadlines, the repository's paths,
//! reading /proc, starting a process as PID 1 of a new PID namespace, making
//! orphans for it to reap, and driving Docker, podman and (with the `cri`
//! feature) containerd. Not shipped: only tests and benchmarks link it.

pub mod ci;
pub mod command;
pub mod credentials;
pub mod docker;
pub mod http;
pub mod netns;
pub mod orphans;
pub mod pid1;
pub mod podman;
pub mod procfs;
pub mod registry;
pub mod repo;
pub mod rootless;
pub mod spawn;
pub mod teardown;
pub mod wait;

#[cfg(feature = "cri")]
pub mod cri;

#[cfg(feature = "kube")]
pub mod kube;
