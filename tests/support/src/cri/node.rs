//! One containerd: started in a network namespace of its own, connected to
//! over its socket, ready when CRI says so, and stopped with everything it
//! left when the [`Node`] is dropped, or by the harness's teardown
//! ([`crate::teardown`]) on a signal or in the next run.

use super::client::{Cri, tail};
use super::config;
use super::matrix::Containerd;
use crate::netns::NetNs;
use crate::registry::Registry;
use crate::teardown::{self, Live, Resource};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

pub struct Node {
    /// The CRI connection, temp dir and socket (the node derefs to it).
    cri: Cri,
    /// The containerd config actually used (after merging the deploy file).
    pub config: toml::Table,
    pub sandbox_image: String,
    /// Which containerd runs, in which config dialect.
    pub containerd: Containerd,
    child: Option<Child>,
    pid: i32,
    /// containerd, its directory and its pods' cgroups, for the teardown.
    live: Live,
    /// The namespace it runs in when given one (a registry's), for a restart.
    netns: Option<NetNs>,
}

impl std::ops::Deref for Node {
    type Target = Cri;

    fn deref(&self) -> &Cri {
        &self.cri
    }
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

    /// [`Node::start_pulling_from`], with `registry` the mirror of the
    /// registries `also_mirrored` names too (those of critest's images).
    pub fn start_mirroring(
        containerd: Containerd,
        registry: &Registry,
        also_mirrored: &[&str],
    ) -> Node {
        Node::start_with_mirrors(containerd, Some(registry), also_mirrored)
    }

    fn start_with(containerd: Containerd, registry: Option<&Registry>) -> Node {
        Node::start_with_mirrors(containerd, registry, &[])
    }

    fn start_with_mirrors(
        containerd: Containerd,
        registry: Option<&Registry>,
        also_mirrored: &[&str],
    ) -> Node {
        let dir = tempfile::Builder::new()
            .prefix("pause-cri.")
            .tempdir()
            .expect("temp dir");
        let socket = dir.path().join("containerd.sock");
        let mirror = registry.map(Registry::endpoint);
        let config = config::prepare(
            dir.path(),
            &socket,
            &containerd,
            mirror.as_deref(),
            also_mirrored,
        );
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
        let child = spawn_containerd(dir.path(), &containerd, registry.map(Registry::netns));
        live.add_process(child.id());
        let log = log_path(dir.path());
        // From here on every failure drops the Node, whose Drop stops containerd.
        let mut node = Node {
            cri: Cri::new(dir, socket, log),
            config,
            sandbox_image,
            containerd,
            pid: child.id() as i32,
            child: Some(child),
            live,
            netns: registry.map(|r| r.netns().try_clone()),
        };
        node.connect();
        node
    }

    /// Waits until containerd's CRI answers and reports ready.
    fn connect(&mut self) {
        let log = log_path(self.dir.path());
        let why = |status| format!("containerd exited with {status}:\n{}", tail(&log, 40));
        self.cri
            .connect("containerd", self.child.as_mut().unwrap(), &why);
        self.cri.wait_ready();
    }

    /// Stops containerd (SIGTERM, as systemd does) and starts it again on
    /// the same config, state and namespace; its shims, and so the running
    /// pods, stay. Returns when CRI reports ready again.
    pub fn restart(&mut self) {
        if let Some(mut child) = self.child.take() {
            self.live.stop_process(child.id());
            let _ = child.wait();
        }
        let child = spawn_containerd(self.dir.path(), &self.containerd, self.netns.as_ref());
        self.live.add_process(child.id());
        self.pid = child.id() as i32;
        self.child = Some(child);
        self.connect();
    }

    /// containerd's PID (also the holder of the "node" network namespace).
    pub fn pid(&self) -> i32 {
        self.pid
    }

    /// If containerd has exited: its status and last log lines.
    pub fn exited(&mut self) -> Option<String> {
        let status = self.child.as_mut()?.try_wait().ok().flatten()?;
        Some(format!(
            "containerd exited ({status}):\n{}",
            self.cri.log_tail()
        ))
    }
}

impl Drop for Node {
    /// Stops and removes whatever pods are left through CRI, as kubelet
    /// would, then the harness's teardown: containerd (SIGTERM, then
    /// SIGKILL), anything it left (shims, pause and container processes,
    /// mounts, the pods' cgroups) and its directory.
    fn drop(&mut self) {
        if self.child.is_some() {
            self.cri.remove_pods();
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
