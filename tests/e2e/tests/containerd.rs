//! pause as the pod sandbox of a real containerd (CRI plugin), driven through
//! the CRI API as kubelet drives it: RunPodSandbox, CreateContainer,
//! StartContainer, ExecSync, PodSandboxStatus, StopPodSandbox, RemovePodSandbox.
//!
//! Every test runs on every containerd of the matrix
//! (`pause_e2e::containerd_matrix!`, at the bottom of this file): one module
//! per version and config dialect, so the test output names each (`containerd_2_1_kind_patch::sigterm_ends_the_sandbox_with_status_0`).
//!
//! Needs root, containerd, runc, ctr and the CNI plugins (`make deps`), the
//! fetched versions (`make deps-pinned`) and the project's archive
//! (`make oci`); `make test-e2e-containerd` provides all of them.
//! Outside CI a missing requirement skips; in CI it fails.

use pause_e2e::{SERVE, workload};
use std::io::BufRead;
use test_support::cri::api::PodSandboxState;
use test_support::cri::{
    Containerd, NamespaceMode, Node, PINS, Sandbox, Workload, can_run_on, pack_workload,
};
use test_support::procfs::{children_of, namespace, stat, status_field, syscall};
use test_support::repo;
use test_support::wait::{poll, poll_some};

/// The process is gone from /proc (exited and reaped).
fn gone(pid: i32) -> bool {
    stat(pid).is_none()
}

/// A node of `containerd` with the pause image (from bin/pause-oci.tar) and
/// the workload image imported.
fn node(containerd: Containerd) -> Option<(Node, Workload)> {
    if !can_run_on(containerd) {
        return None;
    }
    let archive = repo::built_pause_archive();
    let node = Node::start_on(containerd);
    let image = node.sandbox_image.clone();
    node.import(&archive, &image);
    let workload = pack_workload(node.dir.path());
    node.import(&workload.archive, &workload.reference);
    Some((node, workload))
}

/// The sandbox process is this project's pause: named `pause`, running as
/// 65535:65535 without capabilities (pause_e2e::sandbox_user), waiting for
/// signals (blocked in rt_sigtimedwait).
fn assert_is_our_pause(s: &Sandbox) {
    pause_e2e::assert_runs_our_pause(s.pid);
    pause_e2e::sandbox_user::assert_sandbox_credentials(
        s.pid,
        &pause_e2e::sandbox_user::CONTAINERD,
    );
    poll("pause waiting in rt_sigtimedwait", || {
        syscall(s.pid) == Some(nix::libc::SYS_rt_sigtimedwait)
    });
}

/// StopPodSandbox then RemovePodSandbox: NOTREADY after stop, and after
/// remove no process and no mount of the pod or its containers remains.
fn stop_and_remove(node: &Node, s: &Sandbox, containers: &[String], pids: &[i32]) {
    node.stop_pod(&s.id);
    let (state, _) = node.pod_status(&s.id);
    assert_eq!(state, PodSandboxState::SandboxNotready);
    for &pid in pids.iter().chain([&s.pid]) {
        poll(&format!("process {pid} gone after StopPodSandbox"), || {
            gone(pid)
        });
    }
    node.remove_pod(&s.id);
    assert!(!node.list_pods().contains(&s.id), "pod still listed");
    for id in containers.iter().chain([&s.id]) {
        poll(&format!("nothing left of {id}"), || {
            let left = node.leftovers(id);
            if !left.is_empty() {
                eprintln!("still there: {left:?}");
            }
            left.is_empty()
        });
    }
}

fn shared_pid_namespace_pause_is_pid1_and_reaps_orphans(containerd: Containerd) {
    let Some((node, w)) = node(containerd) else {
        return;
    };
    let pod = node.pod_config("shared-pid", NamespaceMode::Pod, false);
    let s = node.run_pod(&pod);
    assert_is_our_pause(&s);
    assert!(!node.pod_ip(&s.id).is_empty(), "pod has no IP");

    let c = node.run_container(&s, &pod, "work", &w.reference, SERVE);
    let cpid = node.container_pid(&c);
    // The workload sees pause as PID 1 of the pod, running as 65535.
    let info = workload(&node, &c, &["info"]);
    assert_eq!(info["pid1"], "/pause");
    assert_eq!(info["pid1_uid"], "65535");

    // Orphans: the workload makes 20 processes whose parent exits at once;
    // the kernel hands them to the pod's PID 1 (pause), which must reap them.
    let r = workload(&node, &c, &["orphans", "20"]);
    assert_eq!(r["reparented"], "20", "{r:?}");
    assert_eq!(
        r["new_parents"], "1:20",
        "every orphan's new parent is PID 1: {r:?}"
    );
    assert_eq!(r["reaped"], "20", "{r:?}");
    assert_eq!(r["pid1"], "/pause");
    assert_eq!(workload(&node, &c, &["zombies"])["zombies"], "0");
    // Seen from the host: nothing is left under pause (the workload's own
    // first process is the shim's child, not pause's).
    poll("pause has no children left", || {
        children_of(s.pid).is_empty()
    });
    // pause is still there and waiting.
    assert_is_our_pause(&s);

    stop_and_remove(&node, &s, &[c], &[cpid]);
}

fn container_pid_namespace_each_container_is_its_own_pid1(containerd: Containerd) {
    let Some((node, w)) = node(containerd) else {
        return;
    };
    let pod = node.pod_config("own-pid", NamespaceMode::Container, false);
    let s = node.run_pod(&pod);
    assert_is_our_pause(&s);
    // pause is PID 1 of its own PID namespace.
    let nspid = status_field(s.pid, "NSpid").unwrap();
    assert_eq!(nspid.split_whitespace().last(), Some("1"), "NSpid {nspid}");

    let c = node.run_container(&s, &pod, "work", &w.reference, SERVE);
    let cpid = node.container_pid(&c);
    // The container is PID 1 of its own namespace: the workload, not pause.
    assert_eq!(workload(&node, &c, &["info"])["pid1"], "/workload");
    let ns = |p: i32, n: &str| namespace(p, n).unwrap();
    assert_ne!(ns(s.pid, "pid"), ns(cpid, "pid"));
    // Network and IPC are still the pod's, held by pause.
    assert_eq!(ns(s.pid, "net"), ns(cpid, "net"));
    assert_eq!(ns(s.pid, "ipc"), ns(cpid, "ipc"));
    assert_ne!(ns(s.pid, "net"), ns(node.pid(), "net"));

    stop_and_remove(&node, &s, &[c], &[cpid]);
}

fn host_network_pod_becomes_ready(containerd: Containerd) {
    let Some((node, w)) = node(containerd) else {
        return;
    };
    let pod = node.pod_config("host-net", NamespaceMode::Pod, true);
    let s = node.run_pod(&pod);
    assert_is_our_pause(&s);
    let ns = |p: i32| namespace(p, "net").unwrap();
    // "Node" network = containerd's own network namespace here.
    assert_eq!(ns(s.pid), ns(node.pid()));
    let c = node.run_container(&s, &pod, "work", &w.reference, SERVE);
    let cpid = node.container_pid(&c);
    assert_eq!(ns(cpid), ns(node.pid()));
    assert_eq!(workload(&node, &c, &["info"])["pid1"], "/pause");
    stop_and_remove(&node, &s, &[c], &[cpid]);
}

fn sigterm_ends_the_sandbox_with_status_0(containerd: Containerd) {
    let Some((node, _w)) = node(containerd) else {
        return;
    };
    let pod = node.pod_config("sigterm", NamespaceMode::Pod, false);
    let s = node.run_pod(&pod);
    assert_is_our_pause(&s);

    // Subscribe to containerd's events, and make sure the subscription is
    // live (a probe event comes through) before sending the signal.
    let mut events = node.events();
    let stdout = events.stdout.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel::<String>();
    std::thread::spawn(move || {
        for line in std::io::BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    let mut n = 0;
    poll_some("ctr events subscribed", || {
        n += 1;
        node.probe_event(n);
        rx.recv_timeout(std::time::Duration::from_millis(200))
            .ok()
            .filter(|l| l.contains("/namespaces/update"))
    });
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(s.pid),
        nix::sys::signal::Signal::SIGTERM,
    )
    .unwrap();
    let exit = poll_some("a /tasks/exit event for the sandbox", || {
        rx.recv_timeout(std::time::Duration::from_millis(200))
            .ok()
            .filter(|l| l.contains("/tasks/exit") && l.contains(&s.id))
    });
    eprintln!("{exit}");
    let json = &exit[exit.find('{').expect("event payload")..];
    let v: serde_json::Value = serde_json::from_str(json).unwrap();
    assert_eq!(v["container_id"], s.id.as_str());
    // Protobuf's JSON leaves out zero values: no exit_status means 0.
    assert_eq!(
        v["exit_status"].as_u64().unwrap_or(0),
        0,
        "sandbox exit status: {exit}"
    );
    poll("the sandbox process gone", || gone(s.pid));
    let _ = events.kill();
    let _ = events.wait();
    poll("pod NOTREADY after pause exited", || {
        let (state, _) = node.pod_status(&s.id);
        state == PodSandboxState::SandboxNotready
    });
    stop_and_remove(&node, &s, &[], &[]);
}

fn nothing_is_pulled_a_pull_fails_at_once(containerd: Containerd) {
    if !can_run_on(containerd) {
        return;
    }
    let node = Node::start_on(containerd);
    let start = std::time::Instant::now();
    let err = node
        .pull("registry.k8s.io/pause:3.10")
        .expect_err("a pull succeeded: images must come from local archives only");
    eprintln!(
        "containerd {} ({:?}): the pull failed as it should: {err}",
        containerd.series, containerd.dialect
    );
    // The mirror is tried first; containerd 1.6 then falls back to the real
    // host, which is unreachable from containerd's own network namespace.
    // Later versions read hosts.toml, where the registry itself is the dead port.
    assert!(
        err.contains("127.0.0.1:9") || node.log_tail().contains("127.0.0.1:9"),
        "the pull did not try the dead mirror first: {err}\n{}",
        node.log_tail()
    );
    assert!(
        start.elapsed() < std::time::Duration::from_secs(10),
        "pull took {:?} to fail",
        start.elapsed()
    );
}

/// The node runs the containerd it should: for a fetched version, the exact
/// Debian package [`PINS`] names; for the system's, a 1.6. Also names the
/// version in the test output.
fn runs_the_pinned_containerd(containerd: Containerd) {
    if !can_run_on(containerd) {
        return;
    }
    let node = Node::start_on(containerd);
    let mut rs = node.runtime();
    let version = node
        .call(rs.version(test_support::cri::api::VersionRequest::default()))
        .expect("CRI Version")
        .into_inner();
    let out = std::process::Command::new(containerd.binary("containerd"))
        .arg("--version")
        .output()
        .expect("containerd --version");
    let line = String::from_utf8_lossy(&out.stdout).trim().to_string();
    eprintln!(
        "containerd {} ({:?}): CRI says {} {}, `containerd --version`: {line}",
        containerd.series, containerd.dialect, version.runtime_name, version.runtime_version
    );
    assert_eq!(version.runtime_name, "containerd");
    assert!(
        version
            .runtime_version
            .starts_with(&format!("{}.", containerd.series))
            || version
                .runtime_version
                .starts_with(&format!("v{}.", containerd.series)),
        "CRI runtime version {} is not containerd {}",
        version.runtime_version,
        containerd.series
    );
    // What this version would warn an operator about in this config (1.7
    // and later keep a list; 1.6's ctr has no such command).
    if containerd.pinned_version().is_some() {
        let list = node.ctr(&["deprecations", "list"]).output().unwrap();
        eprintln!(
            "containerd {} ({:?}) deprecations:\n{}",
            containerd.series,
            containerd.dialect,
            String::from_utf8_lossy(&list.stdout)
        );
    }
    if let Some(pinned) = containerd.pinned_version() {
        let upstream = pinned.split(['~', '+']).next().unwrap();
        assert!(
            version.runtime_version.contains(upstream),
            "CRI runtime version {} is not {upstream} as {PINS} pins",
            version.runtime_version
        );
    }
}

pause_e2e::containerd_matrix!(
    runs_the_pinned_containerd,
    shared_pid_namespace_pause_is_pid1_and_reaps_orphans,
    container_pid_namespace_each_container_is_its_own_pid1,
    host_network_pod_becomes_ready,
    sigterm_ends_the_sandbox_with_status_0,
    nothing_is_pulled_a_pull_fails_at_once,
);
