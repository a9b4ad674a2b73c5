//! The pause image as the infra container of a podman pod that shares its
//! PID, network and IPC namespaces, with the test workload in the pod. Podman
//! runs with a store, run root, configuration and event log of its own in a
//! temporary directory (runc, cgroupfs, no systemd), so nothing is left on the
//! host. Needs root, podman, runc and conmon, and the docker-archive files of
//! both images (`make e2e-archives`: $PAUSE_ARCHIVE, $WORKLOAD_ARCHIVE).
//! Podman runs infra containers as root whatever the image says, so unlike
//! the Docker suite this one does not check the user.

use nix::sys::resource::{RLIM_INFINITY, Resource, getrlimit};
use pause_e2e::*;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

const ORPHANS_LIVE: usize = 150;
const ORPHANS_SHORT: usize = 200;

/// One podman "installation" living in a temporary directory.
struct Podman {
    dir: tempfile::TempDir,
}

impl Podman {
    fn new() -> Podman {
        let dir = tempfile::Builder::new()
            .prefix("pause-e2e-podman.")
            .tempdir()
            .unwrap();
        let d = dir.path();
        for sub in ["root", "runroot", "tmp", "networks"] {
            std::fs::create_dir(d.join(sub)).unwrap();
        }
        // Without CAP_SYS_RESOURCE a container cannot be given limits above
        // what its runtime has, and podman's defaults for root are higher
        // (sandboxes then fail to start): ask for modest limits, never more
        // than this process has.
        let limit = |r, want: u64| {
            let (soft, _) = getrlimit(r).unwrap();
            if soft == RLIM_INFINITY {
                want
            } else {
                soft.min(want)
            }
        };
        let nofile = limit(Resource::RLIMIT_NOFILE, 4096);
        let nproc = limit(Resource::RLIMIT_NPROC, 4096);
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
        std::fs::write(
            d.join("storage.conf"),
            format!(
                "[storage]\ndriver = \"overlay\"\ngraphroot = \"{}\"\nrunroot = \"{}\"\n",
                p("root"),
                p("runroot")
            ),
        )
        .unwrap();
        // No registry here: short names resolve nowhere, pulls fail at once.
        std::fs::write(
            d.join("registries.conf"),
            "unqualified-search-registries = []\n\
             [[registry]]\nlocation = \"docker.io\"\n\
             [[registry.mirror]]\nlocation = \"127.0.0.1:9\"\n",
        )
        .unwrap();
        Podman { dir }
    }

    fn cmd(&self, args: &[&str]) -> Command {
        let d = self.dir.path();
        let mut c = Command::new("podman");
        c.env("CONTAINERS_CONF", d.join("containers.conf"))
            .env("CONTAINERS_STORAGE_CONF", d.join("storage.conf"))
            .env("CONTAINERS_REGISTRIES_CONF", d.join("registries.conf"))
            .arg("--root")
            .arg(d.join("root"))
            .arg("--runroot")
            .arg(d.join("runroot"))
            .arg("--tmpdir")
            .arg(d.join("tmp"))
            .args([
                "--cgroup-manager",
                "cgroupfs",
                "--events-backend",
                "file",
                "--runtime",
                "runc",
            ])
            .args(args);
        c
    }

    fn run(&self, args: &[&str]) -> Run {
        run(self.cmd(args))
    }

    /// Loads a docker-archive; returns the name podman gave the image.
    fn load(&self, archive: &Path) -> String {
        let r = self
            .run(&["load", "-q", "-i", archive.to_str().unwrap()])
            .check();
        let out = r.stdout();
        out.lines()
            .find_map(|l| {
                l.split_once("Loaded image")
                    .map(|(_, n)| n.rsplit(' ').next().unwrap().to_string())
            })
            .unwrap_or_else(|| panic!("no image name in: {}", r.describe()))
    }

    fn inspect(&self, what: &str, format: &str) -> String {
        self.run(&["inspect", "--format", format, what])
            .check()
            .stdout()
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
        unmount_all_under(self.dir.path());
        // The directory itself goes with the TempDir.
    }
}

fn archive(var: &str) -> Option<PathBuf> {
    std::env::var_os(var)
        .map(PathBuf::from)
        .filter(|p| p.is_file())
}

fn on_path(tool: &str) -> bool {
    Command::new("sh")
        .args(["-c", &format!("command -v {tool}")])
        .output()
        .is_ok_and(|o| o.status.success())
}

#[test]
fn pause_as_infra_container_of_a_podman_pod() {
    if !require(is_root(), "root") {
        return;
    }
    for tool in ["podman", "runc", "conmon"] {
        if !require(on_path(tool), &format!("{tool} on PATH (make deps-e2e)")) {
            return;
        }
    }
    let (Some(pause_tar), Some(workload_tar)) =
        (archive("PAUSE_ARCHIVE"), archive("WORKLOAD_ARCHIVE"))
    else {
        require(
            false,
            "$PAUSE_ARCHIVE and $WORKLOAD_ARCHIVE image archives (make e2e-archives)",
        );
        return;
    };
    let podman = Podman::new();
    let pause_image = podman.load(&pause_tar);
    let workload = podman.load(&workload_tar);

    let pod = unique("pod");
    podman
        .run(&[
            "pod",
            "create",
            "--name",
            &pod,
            "--infra-image",
            &pause_image,
            "--share",
            "pid,net,ipc",
            "--network",
            "none",
        ])
        .check();
    podman.run(&["pod", "start", &pod]).check();
    let infra = podman
        .run(&["pod", "inspect", "--format", "{{.InfraContainerID}}", &pod])
        .check()
        .stdout();
    let pause: u32 = podman
        .inspect(&infra, "{{.State.Pid}}")
        .parse()
        .expect("infra State.Pid");
    wait_for("pause to wait for signals", DEADLINE, || {
        waiting_for_signals(pause)
    });
    assert_eq!(cmdline(pause), Some(vec!["/pause".to_string()]));
    assert_eq!(
        status_field(pause, "NSpid").unwrap().split(' ').next_back(),
        Some("1"),
        "PID 1 of the pod"
    );

    let in_pod = |args: &[&str], detach: Option<&str>| {
        let mut a = vec!["run", "--pull", "never", "--pod", &pod];
        match detach {
            Some(name) => a.extend(["-d", "--name", name]),
            None => a.push("--rm"),
        }
        a.push(&workload);
        a.extend(args);
        podman.run(&a)
    };

    let info = in_pod(&["info"], None).check().stdout();
    assert_eq!(kv(&info, "pid1"), Some("/pause"), "workload info: {info}");

    // Orphans alive until the workload stops: pause adopts them, then reaps
    // them when they exit.
    let server = unique("serve");
    in_pod(
        &["serve", "--orphans", &ORPHANS_LIVE.to_string()],
        Some(&server),
    )
    .check();
    let serving = wait_for("the workload to make its orphans", DEADLINE, || {
        let logs = podman.run(&["logs", &server]);
        let out = logs.stdout();
        out.lines()
            .find(|l| l.starts_with("serving"))
            .map(str::to_string)
            .ok_or(logs.describe())
    });
    let spid: u32 = podman.inspect(&server, "{{.State.Pid}}").parse().unwrap();
    assert_eq!(
        pid_ns(spid),
        pid_ns(pause),
        "the workload must share pause's PID namespace"
    );
    assert_orphans_adopted(pause, ORPHANS_LIVE, &serving);
    podman
        .run(&["stop", "-t", &STOP_TIMEOUT_SECS.to_string(), &server])
        .check();
    assert_eq!(
        podman.inspect(&server, "{{.State.ExitCode}}"),
        "0",
        "workload exit code"
    );
    assert_all_reaped(pause);

    // Orphans that exit once adopted: the workload sees each one reaped.
    let line = in_pod(&["orphans", &ORPHANS_SHORT.to_string()], None)
        .check()
        .stdout();
    let n = ORPHANS_SHORT.to_string();
    assert_eq!(kv(&line, "reparented"), Some(n.as_str()), "{line}");
    assert_eq!(
        kv(&line, "new_parents"),
        Some(format!("1:{n}").as_str()),
        "{line}"
    );
    assert_eq!(kv(&line, "reaped"), Some(n.as_str()), "{line}");
    assert_all_reaped(pause);

    // Stopping the pod ends pause on SIGTERM, with 0, long before the grace
    // period's SIGKILL.
    let t = Instant::now();
    podman
        .run(&["pod", "stop", "-t", &STOP_TIMEOUT_SECS.to_string(), &pod])
        .check();
    let took = t.elapsed();
    eprintln!("podman pod stop took {took:?} (grace period {STOP_TIMEOUT_SECS} s)");
    assert_eq!(
        podman.inspect(&infra, "{{.State.ExitCode}}"),
        "0",
        "infra exit code after pod stop"
    );
    assert!(
        took < PROMPT_STOP,
        "podman pod stop took {took:?}: pause did not end on SIGTERM"
    );
    let logs = podman.run(&["logs", &infra]).check();
    assert!(
        format!("{}{}", logs.stdout(), logs.stderr())
            .contains("Shutting down, got signal: Terminated"),
        "{}",
        logs.describe()
    );
}
