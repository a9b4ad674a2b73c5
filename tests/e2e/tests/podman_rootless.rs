//! The pause image as the infra container of a rootless podman pod, set up
//! as a new user would have it: a throwaway account with one range of
//! subordinate ids in /etc/subuid and /etc/subgid (`uidmap` provides
//! newuidmap and newgidmap), podman run as that user with a runtime
//! directory of its own. The pod shares its PID, network and IPC namespaces
//! and has the test workload in it.
//!
//! The pod has rootless podman's default network (slirp4netns). That opens
//! /dev/net/tun as the user, and this machine's is mode 0600 (0666 is
//! usual): the suite opens it to every user for the test, and puts the mode
//! back ([`TunOpen`]).
//!
//! Needs root (to create the user), podman, runc, conmon, uidmap and
//! slirp4netns, the project's archive and $WORKLOAD_ARCHIVE;
//! `make test-e2e-podman` provides all of them. The user, its id ranges, its
//! files and its processes are removed after a failure as after a pass.

use pause_e2e::sandbox_user::{assert_sandbox_credentials, podman_rootless};
use pause_e2e::*;
use std::path::{Path, PathBuf};
use test_support::ci::require;
use test_support::command::Run;
use test_support::podman::{self, Podman};
use test_support::procfs::{cmdline, namespace, status_field, waiting_for_signals};
use test_support::repo::pause_archive;
use test_support::rootless::{self, TunOpen, User};
use test_support::wait::{DEADLINE, wait_for};

/// What a new user gets from useradd by default: enough for every id an
/// image may name, 65535 among them.
const FULL_RANGE: u32 = 65_536;
/// Fewer ids than the image's user 65535 needs.
const SMALL_RANGE: u32 = 1_000;
const ORPHANS: usize = 200;

/// Both archives, when this machine can run the suite at all.
fn archives() -> Option<(PathBuf, PathBuf)> {
    if !rootless::ready() || !podman::ready() {
        return None;
    }
    let slirp = test_support::ci::which("slirp4netns").is_some();
    if !require(slirp, "slirp4netns (make deps)") {
        return None;
    }
    let pause = pause_archive();
    let workload = std::env::var_os("WORKLOAD_ARCHIVE")
        .map(PathBuf::from)
        .filter(|p| p.is_file());
    match (pause.is_file(), workload) {
        (true, Some(w)) => Some((pause, w)),
        _ => {
            require(
                false,
                "bin/pause-oci.tar and $WORKLOAD_ARCHIVE (make test-e2e-podman)",
            );
            None
        }
    }
}

#[test]
fn rootless_pod_with_65536_subordinate_ids() {
    let Some((pause_tar, workload_tar)) = archives() else {
        return;
    };
    // Locals drop last declared first: the device's mode and podman go
    // before the user.
    let user = User::create(FULL_RANGE);
    assert_eq!(
        user.subuids.count,
        FULL_RANGE,
        "{} /etc/subuid",
        user.name()
    );
    assert_eq!(
        user.subgids.count,
        FULL_RANGE,
        "{} /etc/subgid",
        user.name()
    );
    let _tun = TunOpen::new();
    let podman = Podman::rootless(&user);
    let pod = RootlessPod::start(&podman, &user, &pause_tar, &workload_tar, &[]);
    let pause = pod.pause;
    pause_e2e::assert_pid1_of_pod(pause);
    let (uid, gid) = (user.login.uid.as_raw(), user.login.gid.as_raw());
    assert_sandbox_credentials(pause, &podman_rootless(uid, gid));
    assert_ne!(
        namespace(pause, "net"),
        namespace(std::process::id() as i32, "net"),
        "the pod has a network of its own (slirp4netns)"
    );

    let info = pod.workload(&["info"]).check().stdout();
    assert_eq!(Report::parse(&info).get("pid1"), Some("/pause"), "{info}");
    let line = pod
        .workload(&["orphans", &ORPHANS.to_string()])
        .check()
        .stdout();
    assert_orphans_reaped_in_pod(&line, ORPHANS);
    assert_all_reaped(pause);
    let zombies = pod.workload(&["zombies"]).check().stdout();
    assert_eq!(
        Report::parse(&zombies).get("zombies"),
        Some("0"),
        "{zombies}"
    );

    image_user_maps_into_the_range(&podman, &user, &pod.pause_image);
    pod.stop_ends_pause_with_0();
}

/// The image's own user (65535:65535, as `podman run` applies it) is inside
/// the user's subordinate ranges: the container runs, as the id the range
/// gives it on the host.
fn image_user_maps_into_the_range(podman: &Podman, user: &User, image: &str) {
    let name = unique("image-user");
    podman
        .run(&["run", "-d", "--name", &name, "--network", "none", image])
        .check();
    let pid: i32 = podman.inspect(&name, "{{.State.Pid}}").parse().unwrap();
    wait_for(
        "pause as the image's user to wait for signals",
        DEADLINE,
        || waiting_for_signals(pid),
    );
    // Container id N > 0 is the range's (N - 1)th id: id 0 is the user.
    let host = |start: u32| (start + 65535 - 1).to_string();
    let ids = |v: String| v.split(' ').next().unwrap().to_string();
    assert_eq!(
        ids(status_field(pid, "Uid").unwrap()),
        host(user.subuids.start)
    );
    assert_eq!(
        ids(status_field(pid, "Gid").unwrap()),
        host(user.subgids.start)
    );
    podman.run(&["rm", "-f", "-t", "0", &name]).check();
}

#[test]
fn rootless_with_1000_subordinate_ids_the_image_user_does_not_map() {
    let Some((pause_tar, workload_tar)) = archives() else {
        return;
    };
    let user = User::create(SMALL_RANGE);
    assert_eq!(
        user.subuids.count,
        SMALL_RANGE,
        "{} /etc/subuid",
        user.name()
    );
    let podman = Podman::rootless(&user);
    // podman runs the infra container as root (the user itself): the pod
    // does not need the image's user and runs. No network: no /dev/net/tun.
    let pod = RootlessPod::start(
        &podman,
        &user,
        &pause_tar,
        &workload_tar,
        &["--network", "none"],
    );
    assert_eq!(cmdline(pod.pause), Some(vec!["/pause".to_string()]));
    let (uid, gid) = (user.login.uid.as_raw(), user.login.gid.as_raw());
    assert_sandbox_credentials(pod.pause, &podman_rootless(uid, gid));
    // The image run as itself, as its user 65535:65535: no such id in the
    // user's namespace.
    // Detached: were it to start, pause would run until stopped.
    let name = unique("image-user");
    let r = podman.run(&[
        "run",
        "-d",
        "--name",
        &name,
        "--network",
        "none",
        &pod.pause_image,
    ]);
    eprintln!("{}", r.describe());
    assert_eq!(r.out.status.code(), Some(126), "{}", r.describe());
    assert!(
        r.stderr()
            .contains("unable to setup user: setgroups: invalid argument"),
        "{}",
        r.describe()
    );
    pod.stop_ends_pause_with_0();
}

/// A started rootless pod with pause as its infra container (PID, network
/// and IPC shared) and the workload image loaded.
struct RootlessPod<'a> {
    podman: &'a Podman,
    name: String,
    infra: String,
    /// Host PID of pause.
    pause: i32,
    pause_image: String,
    workload: String,
}

impl<'a> RootlessPod<'a> {
    /// Loads both archives as `user` (from copies it owns), creates and
    /// starts the pod with `options`, and waits until pause waits for signals.
    fn start(
        podman: &'a Podman,
        user: &User,
        pause_tar: &Path,
        workload_tar: &Path,
        options: &[&str],
    ) -> RootlessPod<'a> {
        let pause_tar = user.give_file(pause_tar);
        let pause_image = podman.pull_oci_archive(&pause_tar, &test_support::repo::version());
        let workload = podman.load(&user.give_file(workload_tar));
        let name = unique("rootless");
        let (infra, pause) = podman.start_pod(&name, &pause_image, options);
        RootlessPod {
            podman,
            name,
            infra,
            pause,
            pause_image,
            workload,
        }
    }

    /// Runs the workload in the pod to completion.
    fn workload(&self, args: &[&str]) -> Run {
        let mut a = vec!["run", "--rm", "--pull", "never", "--pod", &self.name];
        a.push(&self.workload);
        a.extend(args);
        self.podman.run(&a)
    }

    /// `podman pod stop` ends pause on SIGTERM, with exit code 0, at once.
    fn stop_ends_pause_with_0(&self) {
        let stop = self
            .podman
            .run(&[
                "pod",
                "stop",
                "-t",
                &STOP_TIMEOUT_SECS.to_string(),
                &self.name,
            ])
            .check();
        eprintln!("podman pod stop took {:?}", stop.elapsed);
        assert_eq!(
            self.podman.inspect(&self.infra, "{{.State.ExitCode}}"),
            "0",
            "infra exit code after pod stop"
        );
        assert!(stop.elapsed < PROMPT_STOP, "{}", stop.describe());
    }
}
