//! One containerd: started in a network namespace of its own, connected to
//! over its socket, ready when CRI says so, and stopped with everything it
//! left when the [`Node`] is dropped, or by the harness's teardown
//! ([`crate::teardown`]) on a signal or in the next run.

use super::matrix::Containerd;
use super::{api, config};
use crate::netns::NetNs;
use crate::registry::Registry;
use crate::teardown::{self, Live, Resource};
use crate::wait::{DEADLINE, poll_some, wait_for};
use api::image_service_client::ImageServiceClient;
use api::runtime_service_client::RuntimeServiceClient;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;
use tonic::transport::{Channel, Endpoint, Uri};

/// How long teardown gives each CRI call.
const STOP_POD_TIMEOUT: Duration = Duration::from_secs(20);

pub struct Node {
    pub dir: tempfile::TempDir,
    pub socket: PathBuf,
    /// The containerd config actually used (after merging the deploy file).
    pub config: toml::Table,
    pub sandbox_image: String,
    /// Which containerd runs, in which config dialect.
    pub containerd: Containerd,
    child: Option<Child>,
    pid: i32,
    /// containerd, its directory and its pods' cgroups, for the teardown.
    live: Live,
    /// The CRI clients are connected (before that they are placeholders).
    connected: bool,
    rt: tokio::runtime::Runtime,
    rs: RuntimeServiceClient<Channel>,
    is: ImageServiceClient<Channel>,
}

impl Node {
    /// Starts Debian 12's containerd (1.6) with the 1.6/1.7 recipe.
    pub fn start() -> Node {
        Node::start_on(Containerd::SYSTEM)
    }

    /// Starts `containerd` with the CRI plugin and its dialect's config, and
    /// waits until the runtime and network report ready.
    pub fn start_on(containerd: Containerd) -> Node {
        Node::start_with(containerd, None)
    }

    /// Starts `containerd` in `registry`'s network namespace, with
    /// `registry` as the mirror of the sandbox image's registry: the first
    /// pod pulls the sandbox image from it, as a node pulls its own.
    pub fn start_pulling_from(containerd: Containerd, registry: &Registry) -> Node {
        Node::start_with(containerd, Some(registry))
    }

    fn start_with(containerd: Containerd, registry: Option<&Registry>) -> Node {
        let dir = tempfile::Builder::new()
            .prefix("pause-cri.")
            .tempdir()
            .expect("temp dir");
        let socket = dir.path().join("containerd.sock");
        let mirror = registry.map(Registry::endpoint);
        let config = config::prepare(dir.path(), &socket, &containerd, mirror.as_deref());
        let sandbox_image = config::sandbox_image_of(&config).expect("sandbox_image set");
        let cgroup_parent = dir
            .path()
            .file_name()
            .unwrap()
            .to_string_lossy()
            .into_owned();
        let live = teardown::register(
            Resource::new(format!(
                "containerd {} node {}",
                containerd.series,
                dir.path().display()
            ))
            .dir(dir.path())
            .cgroup(cgroup_parent),
        );
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        // Placeholder clients (replaced once the socket answers) need a runtime context.
        let guard = rt.enter();
        let rs = RuntimeServiceClient::new(Endpoint::from_static("http://[::]").connect_lazy());
        let is = ImageServiceClient::new(Endpoint::from_static("http://[::]").connect_lazy());
        drop(guard);
        let child = spawn_containerd(dir.path(), &containerd, registry.map(Registry::netns));
        live.add_process(child.id());
        // From here on every failure drops the Node, whose Drop stops containerd.
        let mut node = Node {
            dir,
            socket,
            config,
            sandbox_image,
            containerd,
            pid: child.id() as i32,
            child: Some(child),
            live,
            connected: false,
            rt,
            rs,
            is,
        };
        node.connect();
        node.wait_ready();
        node
    }

    /// Waits for the socket to answer and connects the CRI clients to it.
    fn connect(&mut self) {
        let (child, dir, rt) = (self.child.as_mut().unwrap(), self.dir.path(), &self.rt);
        let channel = wait_for("containerd's socket to answer", DEADLINE, || {
            if let Some(status) = child.try_wait().unwrap() {
                panic!("containerd exited with {status}:\n{}", log_tail(dir));
            }
            self.socket
                .exists()
                .then(|| rt.block_on(connect_unix(self.socket.clone())).ok())
                .flatten()
                .ok_or_else(|| log_tail(dir))
        });
        self.rs = RuntimeServiceClient::new(channel.clone());
        self.is = ImageServiceClient::new(channel);
        self.connected = true;
    }

    /// Ready means: the CRI service answers and reports both conditions true.
    fn wait_ready(&self) {
        poll_some("CRI RuntimeReady and NetworkReady", || {
            let mut rs = self.runtime();
            let s = self
                .call(rs.status(api::StatusRequest { verbose: false }))
                .ok()?
                .into_inner()
                .status?;
            s.conditions.iter().all(|c| c.status).then_some(())
        });
    }

    /// The last lines containerd logged, for failure messages.
    pub fn log_tail(&self) -> String {
        log_tail(self.dir.path())
    }

    /// containerd's PID (also the holder of the "node" network namespace).
    pub fn pid(&self) -> i32 {
        self.pid
    }

    pub fn runtime(&self) -> RuntimeServiceClient<Channel> {
        self.rs.clone()
    }

    pub(super) fn images(&self) -> ImageServiceClient<Channel> {
        self.is.clone()
    }

    /// Runs a CRI call on this node's runtime.
    pub fn call<F: std::future::Future>(&self, f: F) -> F::Output {
        self.rt.block_on(f)
    }

    /// The cgroup (v1, cgroupfs) every pod of this node goes under, as kubelet
    /// puts pods under /kubepods: one name per node, removed by Drop.
    pub fn cgroup_parent(&self) -> String {
        self.dir
            .path()
            .file_name()
            .unwrap()
            .to_string_lossy()
            .into_owned()
    }

    /// Stops and removes every pod left, each call bounded so that a stuck
    /// containerd cannot hang the teardown.
    fn remove_pods(&self) {
        for id in self.list_pods() {
            let mut rs = self.runtime();
            // The timeouts are made inside the runtime: a tokio timer made
            // outside one panics, and a panic in Drop aborts.
            self.call(async {
                let stop = rs.stop_pod_sandbox(api::StopPodSandboxRequest {
                    pod_sandbox_id: id.clone(),
                });
                let _ = tokio::time::timeout(STOP_POD_TIMEOUT, stop).await;
                let remove =
                    rs.remove_pod_sandbox(api::RemovePodSandboxRequest { pod_sandbox_id: id });
                let _ = tokio::time::timeout(STOP_POD_TIMEOUT, remove).await;
            });
        }
    }
}

impl Drop for Node {
    /// Stops and removes whatever pods are left through CRI, as kubelet
    /// would, then the harness's teardown: containerd (SIGTERM, then
    /// SIGKILL), anything it left (shims, pause and container processes,
    /// mounts, the pods' cgroups) and its directory.
    fn drop(&mut self) {
        if self.child.is_some() && self.connected {
            self.remove_pods();
        }
        self.live.release();
        if let Some(mut child) = self.child.take() {
            let _ = child.wait();
        }
    }
}

fn log_path(dir: &Path) -> PathBuf {
    dir.join("containerd.log")
}

/// The last 40 lines of a node's containerd log.
fn log_tail(dir: &Path) -> String {
    let log = std::fs::read_to_string(log_path(dir)).unwrap_or_default();
    let lines: Vec<&str> = log.lines().collect();
    lines[lines.len().saturating_sub(40)..].join("\n")
}

/// containerd in a new network namespace with only loopback up (or in
/// `netns`, which has only loopback too), logging to the node's log file. A
/// fetched version's directory goes first on PATH: containerd looks its
/// shim up there, so shim and daemon always match.
fn spawn_containerd(dir: &Path, containerd: &Containerd, netns: Option<&NetNs>) -> Child {
    let log = std::fs::File::create(log_path(dir)).unwrap();
    let mut path = containerd.bin_dir().into_iter().collect::<Vec<_>>();
    path.extend(std::env::split_paths(
        &std::env::var_os("PATH").unwrap_or_default(),
    ));
    let mut command = match netns {
        Some(netns) => netns.command(containerd.binary("containerd")),
        None => {
            let mut c = Command::new("unshare");
            c.args(["--net", "--", "sh", "-c"])
                .arg(r#"ip link set lo up && exec "$@""#)
                .arg("sh")
                .arg(containerd.binary("containerd"));
            c
        }
    };
    command
        .arg("--config")
        .arg(config::config_path(dir))
        .env("PATH", std::env::join_paths(path).unwrap())
        .stdin(Stdio::null())
        .stdout(log.try_clone().unwrap())
        .stderr(log)
        .spawn()
        .expect("start containerd")
}

/// A gRPC channel over containerd's unix socket.
async fn connect_unix(path: PathBuf) -> Result<Channel, tonic::transport::Error> {
    Endpoint::from_static("http://[::]")
        .connect_with_connector(tower::service_fn(move |_: Uri| {
            let path = path.clone();
            async move {
                Ok::<_, std::io::Error>(hyper_util::rt::TokioIo::new(
                    tokio::net::UnixStream::connect(path).await?,
                ))
            }
        }))
        .await
}
