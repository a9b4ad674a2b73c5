//! podman with a store, run root, configuration and event log of its own in
//! a temporary directory (runc, cgroupfs, no systemd), so that nothing is
//! left on the host and the host's podman setup plays no part. As root, or
//! rootless as a [`rootless::User`](crate::rootless::User).

use crate::ci;
use crate::command::{Run, run};
use crate::procfs;
use crate::rootless::{Login, User};
use crate::teardown::{self, Live};
use nix::sys::resource::{RLIM_INFINITY, Resource, getrlimit};
use std::path::Path;
use std::process::Command;

/// podman and what it runs containers with are installed; otherwise says
/// why ([`ci::require`]: a failure in CI).
pub fn ready() -> bool {
    ["podman", "runc", "conmon"].iter().all(|tool| {
        ci::require(
            ci::which(tool).is_some(),
            &format!("{tool} on PATH (make deps)"),
        )
    })
}

/// One podman "installation" living in a temporary directory; its pods,
/// containers, images and mounts are removed when it is dropped.
pub struct Podman {
    dir: tempfile::TempDir,
    /// Rootless: the user podman runs as.
    user: Option<Login>,
    /// Its directory, with every conmon, container and mount in it.
    live: Live,
}

impl Podman {
    /// podman as root.
    pub fn new() -> Podman {
        let dir = installation(&std::env::temp_dir(), "pause-podman.");
        let live = registered(&dir, "podman (root)");
        Podman {
            dir,
            user: None,
            live,
        }
    }

    /// Rootless podman, run as `user`, everything in the user's directory.
    pub fn rootless(user: &User) -> Podman {
        // Rootless podman wants a run root path under 50 characters.
        let dir = installation(&user.login.dir, "pm.");
        user.login.own(dir.path());
        let live = registered(&dir, &format!("podman (rootless, {})", user.name()));
        Podman {
            dir,
            user: Some(user.login.clone()),
            live,
        }
    }

    /// `podman ARGS` against this installation.
    pub fn command(&self, args: &[&str]) -> Command {
        let d = self.dir.path();
        let mut c = match &self.user {
            Some(login) => login.command("podman"),
            None => Command::new("podman"),
        };
        c.env("CONTAINERS_CONF", d.join("containers.conf"))
            .env("CONTAINERS_STORAGE_CONF", d.join("storage.conf"))
            .env("CONTAINERS_REGISTRIES_CONF", d.join("registries.conf"))
            .arg("--root")
            .arg(d.join("root"))
            .arg("--runroot")
            .arg(d.join("runroot"))
            .arg("--tmpdir")
            .arg(d.join("tmp"))
            .args(["--cgroup-manager", "cgroupfs"])
            .args(["--events-backend", "file", "--runtime", "runc"])
            .args(args);
        c
    }

    pub fn run(&self, args: &[&str]) -> Run {
        run(self.command(args))
    }

    /// Runs `podman ARGS`, which must succeed; its stdout.
    pub fn ok(&self, args: &[&str]) -> String {
        self.run(args).check().stdout()
    }

    /// Loads an image archive; returns the name podman gave the image.
    pub fn load(&self, archive: &Path) -> String {
        let r = self
            .run(&["load", "-q", "-i", archive.to_str().unwrap()])
            .check();
        r.stdout()
            .lines()
            .find_map(|l| {
                l.split_once("Loaded image")
                    .map(|(_, n)| n.rsplit(' ').next().unwrap().to_string())
            })
            .unwrap_or_else(|| panic!("no image name in: {}", r.describe()))
    }

    /// Copies image `tag` of an OCI archive into podman's storage; returns
    /// its image ID. `load` cannot take the project's archive: its index.json
    /// lists the referrers beside the image, and podman loads an OCI archive
    /// only when it holds one entry.
    pub fn pull_oci_archive(&self, archive: &Path, tag: &str) -> String {
        let source = format!("oci-archive:{}:{tag}", archive.display());
        self.ok(&["pull", "-q", &source]).trim().to_string()
    }

    /// Creates and starts pod `name` with `infra_image` as its infra
    /// container sharing pid, net and ipc (plus `options`), and waits until
    /// pause waits for signals; returns the infra container's ID and its
    /// process's host PID.
    pub fn start_pod(&self, name: &str, infra_image: &str, options: &[&str]) -> (String, i32) {
        let mut create = vec!["pod", "create", "--name", name, "--infra-image"];
        create.extend([infra_image, "--share", "pid,net,ipc"]);
        create.extend(options);
        self.run(&create).check();
        self.run(&["pod", "start", name]).check();
        let infra = self.ok(&["pod", "inspect", "--format", "{{.InfraContainerID}}", name]);
        let pause: i32 = self
            .inspect(infra.trim(), "{{.State.Pid}}")
            .trim()
            .parse()
            .expect("infra State.Pid");
        crate::wait::wait_for("pause to wait for signals", crate::wait::DEADLINE, || {
            procfs::waiting_for_signals(pause)
        });
        (infra, pause)
    }

    /// `podman inspect --format FORMAT WHAT`, which must succeed.
    pub fn inspect(&self, what: &str, format: &str) -> String {
        self.ok(&["inspect", "--format", format, what])
    }
}

impl Default for Podman {
    fn default() -> Self {
        Self::new()
    }
}

impl Drop for Podman {
    fn drop(&mut self) {
        for args in [
            &["pod", "rm", "-a", "-f", "-t", "0"][..],
            &["rm", "-a", "-f", "-t", "0"],
            &["rmi", "-a", "-f"],
        ] {
            let r = self.run(args);
            if !r.ok() {
                eprintln!("teardown: {}", r.describe());
            }
        }
        // Then whatever podman could not remove: processes, mounts, the directory.
        self.live.release();
    }
}

/// The harness's record of an installation, before anything runs in it.
fn registered(dir: &tempfile::TempDir, what: &str) -> Live {
    teardown::register(
        teardown::Resource::new(format!("{what} {}", dir.path().display())).dir(dir.path()),
    )
}

/// A temporary directory in `parent` with podman's configuration files and
/// the directories they name.
fn installation(parent: &Path, prefix: &str) -> tempfile::TempDir {
    let dir = tempfile::Builder::new()
        .prefix(prefix)
        .tempdir_in(parent)
        .unwrap();
    let d = dir.path();
    for sub in ["root", "runroot", "tmp", "networks"] {
        std::fs::create_dir(d.join(sub)).unwrap();
    }
    write_containers_conf(d);
    write_storage_conf(d);
    write_registries_conf(d);
    dir
}

/// Without CAP_SYS_RESOURCE a container cannot be given limits above what
/// its runtime has, and podman's defaults for root are higher (sandboxes
/// then fail to start): ask for modest limits, never more than this
/// process has.
fn modest_limit(resource: Resource, want: u64) -> u64 {
    let (soft, _) = getrlimit(resource).unwrap();
    if soft == RLIM_INFINITY {
        want
    } else {
        soft.min(want)
    }
}

fn write_containers_conf(d: &Path) {
    let nofile = modest_limit(Resource::RLIMIT_NOFILE, 4096);
    let nproc = modest_limit(Resource::RLIMIT_NPROC, 4096);
    let p = |s: &str| d.join(s).display().to_string();
    std::fs::write(
        d.join("containers.conf"),
        format!(
            "[containers]\n\
             default_ulimits = [\"nofile={nofile}:{nofile}\", \"nproc={nproc}:{nproc}\"]\n\
             log_driver = \"k8s-file\"\n\
             [engine]\n\
             cgroup_manager = \"cgroupfs\"\n\
             events_logger = \"file\"\n\
             events_logfile_path = \"{}\"\n\
             runtime = \"runc\"\n\
             tmp_dir = \"{}\"\n\
             static_dir = \"{}\"\n\
             volume_path = \"{}\"\n\
             [network]\n\
             network_config_dir = \"{}\"\n",
            p("events.log"),
            p("tmp"),
            p("root/libpod"),
            p("root/volumes"),
            p("networks"),
        ),
    )
    .unwrap();
}

fn write_storage_conf(d: &Path) {
    let p = |s: &str| d.join(s).display().to_string();
    std::fs::write(
        d.join("storage.conf"),
        format!(
            "[storage]\ndriver = \"overlay\"\ngraphroot = \"{}\"\nrunroot = \"{}\"\n",
            p("root"),
            p("runroot")
        ),
    )
    .unwrap();
}

/// No registry here: short names resolve nowhere, pulls fail at once.
fn write_registries_conf(d: &Path) {
    std::fs::write(
        d.join("registries.conf"),
        "unqualified-search-registries = []\n\
         [[registry]]\nlocation = \"docker.io\"\n\
         [[registry.mirror]]\nlocation = \"127.0.0.1:9\"\n",
    )
    .unwrap();
}
