//! pause as the pod infra container of a real CRI-O (built from its Go
//! module by `make deps-go`), driven through the CRI API as kubelet drives
//! it, with deploy/cri-o/10-pause.conf installed as it is in crio.conf.d.
//!
//! Each node: Debian's docker-registry in a network namespace of its own
//! (loopback only), bin/pause-oci.tar and the test workload pushed there by
//! xtask/scripts/push.sh (what `make push` runs), and CRI-O in the same
//! namespace with that registry as the only mirror of `localhost` (its
//! registries.conf): the first pod pulls the sandbox image, nothing is
//! copied into CRI-O's storage. conmon and runc are Debian 12's; runc runs
//! behind tests/scripts/runc-host-limits.sh (see there why).
//!
//! Needs root, the CRI-O build (`make deps-go`), conmon, runc, jq,
//! docker-registry and the CNI plugins (`make deps`), oras (`make
//! deps-pinned`) and the archive (`make oci`): `make test-e2e-crio`
//! provides all of them. Outside CI a missing requirement skips; in CI it
//! fails.

use pause_e2e::sandbox_user::{CRIO, assert_sandbox_credentials};
use pause_e2e::{SERVE, workload};
use std::path::PathBuf;
use std::time::{Duration, Instant};
use test_support::cri::api::{self, PodSandboxState};
use test_support::cri::{CrioNode, NamespaceMode, Sandbox, can_run_crio, pack_workload};
use test_support::procfs::{children_of, namespace, stat, status_field, syscall};
use test_support::registry::Registry;
use test_support::repo;
use test_support::wait::{DEADLINE, poll, wait_for};

/// A CRI-O node and the registry it pulls from, in drop order: the node
/// first (its teardown still reaches the registry's namespace).
struct Setup {
    node: CrioNode,
    /// The workload image, pushed to the registry and pulled by the node.
    workload: String,
    registry: Registry,
}

/// A registry holding the pause archive and the workload, and a CRI-O
/// pulling from it with `dropin` after deploy/cri-o/10-pause.conf.
fn setup(dropin: &str) -> Option<Setup> {
    if !can_run_crio() {
        return None;
    }
    let archive = repo::built_pause_archive();
    let registry = Registry::start_isolated();
    registry.push(&archive);
    let scratch = tempfile::tempdir().unwrap();
    let workload = pack_workload(scratch.path());
    registry.push(&workload.archive);
    let node = CrioNode::start(&registry, dropin);
    Some(Setup {
        node,
        workload: workload.reference,
        registry,
    })
}

/// The drop-in that turns `drop_infra_ctr` off (10-pause.conf turns it on).
const KEEP_INFRA: &str = "[crio.runtime]\ndrop_infra_ctr = false\n";

/// Seen from the host: the sandbox process is this project's pause, with
/// the ids and capabilities CRI-O gives it, waiting for signals.
fn assert_is_our_pause(pid: i32) {
    pause_e2e::assert_runs_our_pause(pid);
    assert_sandbox_credentials(pid, &CRIO);
    poll("pause waiting in rt_sigtimedwait", || {
        syscall(pid) == Some(nix::libc::SYS_rt_sigtimedwait)
    });
}

/// Every pod a kubelet can ask for, by PID namespace (network and IPC are
/// the pod's), on a CRI-O with `drop_infra_ctr` as `dropin` leaves it:
/// which get a pause process, and that each one is ours, PID 1 of its pod
/// where the pod has its own PID namespace.
fn pause_process_per_pid_mode(dropin: &str, expected: [(NamespaceMode, bool); 3]) {
    let Some(s) = setup(dropin) else {
        return;
    };
    let node = &s.node;
    for (mode, has_pause) in expected {
        let name = format!("pid-{}", mode.as_str_name().to_lowercase());
        let pod = node.pod_config(&name, mode, false);
        let (id, pid) = node
            .try_run_pod_maybe_without_process(&pod)
            .unwrap_or_else(|e| panic!("RunPodSandbox {name}: {e}\n{}", node.log_tail()));
        eprintln!("{dropin:?} {mode:?}: sandbox process {pid:?}");
        assert_eq!(
            pid.is_some(),
            has_pause,
            "{mode:?} pod: pause process {pid:?}"
        );
        if let Some(pid) = pid {
            assert_is_our_pause(pid);
            if mode != NamespaceMode::Node {
                pause_e2e::assert_pid1_of_pod(pid);
            }
        }
        // Whether or not pause holds them, the pod's containers share its
        // network: a workload container sees the pod's IP network.
        let sandbox = Sandbox {
            id: id.clone(),
            pid: pid.unwrap_or(0),
        };
        node.pull(&s.workload).expect("pull the workload");
        let c = node.run_container(&sandbox, &pod, "work", &s.workload, SERVE);
        let cpid = node.container_pid(&c);
        assert_ne!(namespace(cpid, "net"), namespace(node.pid(), "net"));
        if let Some(pid) = pid {
            assert_eq!(namespace(cpid, "net"), namespace(pid, "net"));
            let shared = namespace(cpid, "pid") == namespace(pid, "pid");
            // Only a CONTAINER-mode container has a PID namespace of its own.
            assert_eq!(
                shared,
                mode != NamespaceMode::Container,
                "{mode:?}: PID namespace"
            );
        }
        node.stop_pod(&id);
        node.remove_pod(&id);
        poll(&format!("nothing left of pod {id}"), || {
            node.leftovers(&id).is_empty()
        });
    }
}

#[test]
fn drop_infra_ctr_true_only_a_shared_pid_pod_gets_pause() {
    pause_process_per_pid_mode(
        "",
        [
            (NamespaceMode::Pod, true),
            (NamespaceMode::Container, false),
            (NamespaceMode::Node, false),
        ],
    );
}

#[test]
fn drop_infra_ctr_false_every_pod_gets_pause() {
    pause_process_per_pid_mode(
        KEEP_INFRA,
        [
            (NamespaceMode::Pod, true),
            (NamespaceMode::Container, true),
            (NamespaceMode::Node, true),
        ],
    );
}

#[test]
fn shared_pid_pod_pause_is_pid1_and_reaps_orphans() {
    let Some(s) = setup("") else {
        return;
    };
    let node = &s.node;
    let pod = node.pod_config("shared-pid", NamespaceMode::Pod, false);
    let sandbox = node.run_pod(&pod);
    assert_is_our_pause(sandbox.pid);
    node.pull(&s.workload).expect("pull the workload");
    let c = node.run_container(&sandbox, &pod, "work", &s.workload, SERVE);
    let info = workload(node, &c, &["info"]);
    assert_eq!(info["pid1"], "/pause");
    assert_eq!(info["pid1_uid"], CRIO.uid.to_string());
    let (code, out, err) = node.exec(&c, &["/workload", "orphans", "20"]);
    assert_eq!(code, 0, "workload orphans: {out}{err}");
    pause_e2e::assert_orphans_reaped_in_pod(&out, 20);
    assert_eq!(workload(node, &c, &["zombies"])["zombies"], "0");
    poll("pause has no children left", || {
        children_of(sandbox.pid).is_empty()
    });
    assert_is_our_pause(sandbox.pid);
}

/// StopPodSandbox ends pause by its stop signal, promptly, with status 0:
/// conmon writes the exit status to the infra container's `exit` file in
/// its persistent dir (`root/overlay-containers/ID/userdata/`; the infra
/// container's id is the sandbox's), which stays until RemovePodSandbox.
/// (The copy in CRI-O's exits dir is removed as soon as CRI-O reads it.)
#[test]
fn stop_pod_sandbox_ends_pause_with_status_0() {
    let Some(s) = setup("") else {
        return;
    };
    let node = &s.node;
    let pod = node.pod_config("stop", NamespaceMode::Pod, false);
    let sandbox = node.run_pod(&pod);
    assert_is_our_pause(sandbox.pid);
    let start = Instant::now();
    node.stop_pod(&sandbox.id);
    let took = start.elapsed();
    assert_eq!(
        node.pod_status(&sandbox.id).0,
        PodSandboxState::SandboxNotready
    );
    poll("pause gone", || stat(sandbox.pid).is_none());
    let exit_file = node
        .dir
        .path()
        .join("root/overlay-containers")
        .join(&sandbox.id)
        .join("userdata/exit");
    let status = wait_for(
        "conmon's exit file of the infra container",
        DEADLINE,
        || {
            std::fs::read_to_string(&exit_file).map_err(|e| {
                let run_dir = exit_file.parent().unwrap();
                let files = std::fs::read_dir(run_dir).map(|d| {
                    d.flatten()
                        .map(|e| e.file_name().to_string_lossy().into_owned())
                        .collect::<Vec<_>>()
                });
                format!(
                    "{}: {e}; {} holds {files:?}",
                    exit_file.display(),
                    run_dir.display()
                )
            })
        },
    );
    eprintln!("StopPodSandbox took {took:?}; pause exited with {status}");
    assert_eq!(status.trim(), "0", "pause's exit status");
    assert!(
        took < pause_e2e::PROMPT_STOP,
        "StopPodSandbox took {took:?}: pause did not end on the stop signal"
    );
    node.remove_pod(&sandbox.id);
}

/// What the infra process gets beyond its ids and capabilities: its
/// supplementary groups, no_new_privs and seccomp mode, for a pod that asks
/// for nothing and for one that asks for the runtime's default seccomp
/// profile and a non-root user, as kubelet sends them from a pod's
/// securityContext (runAsUser: 65535, seccompProfile: RuntimeDefault).
#[test]
fn infra_process_security_as_crio_sets_it() {
    let Some(s) = setup("") else {
        return;
    };
    let node = &s.node;
    let plain = node.pod_config("plain", NamespaceMode::Pod, false);
    let p = node.run_pod(&plain);
    let mut asking = node.pod_config("asking", NamespaceMode::Pod, false);
    let sc = asking
        .linux
        .as_mut()
        .unwrap()
        .security_context
        .as_mut()
        .unwrap();
    sc.run_as_user = Some(api::Int64Value { value: 65535 });
    sc.run_as_group = Some(api::Int64Value { value: 65535 });
    sc.seccomp = Some(api::SecurityProfile {
        profile_type: api::security_profile::ProfileType::RuntimeDefault as i32,
        localhost_ref: String::new(),
    });
    let a = node.run_pod(&asking);
    let field = |pid: i32, key: &str| status_field(pid, key).unwrap_or_default();
    for (what, pid, seccomp) in [
        ("no securityContext", p.pid, "0"),
        ("runAsUser 65535, RuntimeDefault", a.pid, "2"),
    ] {
        eprintln!(
            "CRI-O infra, {what}: Groups [{}] NoNewPrivs {} Seccomp {}",
            field(pid, "Groups"),
            field(pid, "NoNewPrivs"),
            field(pid, "Seccomp")
        );
        // Root whatever the pod says: CRI-O applies runAsUser to the pod's
        // containers, never to its infra container.
        assert_is_our_pause(pid);
        assert_eq!(field(pid, "Groups"), "", "{what}: supplementary groups");
        assert_eq!(field(pid, "NoNewPrivs"), "0", "{what}: no_new_privs");
        assert_eq!(field(pid, "Seccomp"), seccomp, "{what}: seccomp mode");
    }
}

/// The pinned state kubelet's image GC obeys (since kubelet 1.29 a sandbox
/// image is kept only if the runtime reports it pinned): CRI-O pins its
/// `pause_image` by itself, and any image its `pinned_images` names; GC as
/// kubelet runs it keeps both and removes the rest, and a pod still starts.
#[test]
fn pause_image_and_pinned_images_survive_kubelets_gc() {
    let Some(s) = setup("") else {
        return;
    };
    let node = &s.node;
    assert!(
        node.image_status(&node.sandbox_image).is_none(),
        "the sandbox image is in CRI-O's storage before any pull"
    );
    let pod = node.pod_config("gc", NamespaceMode::Pod, false);
    let first = node.run_pod(&pod);
    node.stop_pod(&first.id);
    node.remove_pod(&first.id);
    node.pull(&s.workload).expect("pull the workload");
    let sandbox = node
        .image_status(&node.sandbox_image)
        .expect("sandbox image");
    let workload = node.image_status(&s.workload).expect("workload image");
    assert!(sandbox.pinned, "CRI-O reports its pause_image unpinned");
    assert!(
        !workload.pinned,
        "the workload is pinned without pinned_images"
    );
    let removed: Vec<String> = node
        .collect_unused_images()
        .into_iter()
        .map(|i| i.id)
        .collect();
    eprintln!("GC removed {removed:?}");
    assert_eq!(removed, vec![workload.id.clone()]);
    assert!(node.image_status(&node.sandbox_image).is_some());
    let again = node.run_pod(&node.pod_config("after-gc", NamespaceMode::Pod, false));
    assert_is_our_pause(again.pid);
    drop(s);

    let pinned = format!(
        "[crio.image]\npinned_images = [\"{}\"]\n",
        "localhost/pause-cri-workload:test"
    );
    let Some(s) = setup(&pinned) else {
        return;
    };
    let node = &s.node;
    node.pull(&s.workload).expect("pull the workload");
    assert!(node.image_status(&s.workload).expect("workload").pinned);
    assert!(
        node.collect_unused_images().is_empty(),
        "GC removed a pinned image"
    );
}

/// The registry log shows the pull: the sandbox image came from it, by
/// the mirror registries.conf names, on the first RunPodSandbox.
#[test]
fn the_sandbox_image_is_pulled_from_the_loopback_registry() {
    let Some(s) = setup("") else {
        return;
    };
    let before = s.registry.requests().len();
    let pod = s
        .node
        .run_pod(&s.node.pod_config("pull", NamespaceMode::Pod, false));
    assert_is_our_pause(pod.pid);
    let manifests: Vec<_> = s.registry.requests()[before..]
        .iter()
        .filter(|r| r.method == "GET" && r.status == 200 && r.path.contains("/pause/manifests/"))
        .cloned()
        .collect();
    eprintln!("CRI-O fetched {manifests:?}");
    assert!(
        !manifests.is_empty(),
        "no manifest of pause fetched: {:?}",
        s.registry.requests()
    );
}

/// Any other registry is unreachable: a pull fails at once.
#[test]
fn a_pull_from_elsewhere_fails_at_once() {
    let Some(s) = setup("") else {
        return;
    };
    let start = Instant::now();
    let err = s
        .node
        .pull("registry.k8s.io/pause:3.10")
        .expect_err("a pull from another registry succeeded");
    eprintln!("the pull failed as it should: {err}");
    assert!(
        start.elapsed() < Duration::from_secs(20),
        "took {:?}",
        start.elapsed()
    );
}

/// The node runs the CRI-O `tests/go/pins.txt` pins.
#[test]
fn runs_the_pinned_crio() {
    let Some(s) = setup("") else {
        return;
    };
    let mut rs = s.node.runtime();
    let v = s
        .node
        .call(rs.version(api::VersionRequest::default()))
        .expect("CRI Version")
        .into_inner();
    eprintln!("CRI says {} {}", v.runtime_name, v.runtime_version);
    let pins = std::fs::read_to_string(repo::path("tests/go/pins.txt")).unwrap();
    let pinned = pins
        .lines()
        .find_map(|l| l.strip_prefix("cri-o "))
        .and_then(|l| l.split_whitespace().nth(1))
        .expect("cri-o in tests/go/pins.txt");
    assert_eq!(v.runtime_name, "cri-o");
    assert_eq!(format!("v{}", v.runtime_version), pinned);
}

/// A CRI-O that cannot start (here: its conmon is missing) fails the test
/// with one line naming the cause, and leaves no process, mount or dir.
/// Other tests run CRI-O nodes meanwhile: what this one left is told apart
/// by its conmon path, unique to it, in the config of a node dir.
#[test]
fn a_crio_that_cannot_start_fails_in_one_line_and_leaves_nothing() {
    if !can_run_crio() {
        return;
    }
    let registry = Registry::start_isolated();
    let conmon = PathBuf::from(format!("/nonexistent/conmon-{}", std::process::id()));
    let failure = std::panic::catch_unwind(|| {
        CrioNode::start_with_conmon(&registry, "", &conmon);
    })
    .expect_err("CRI-O started without conmon");
    let message = failure
        .downcast_ref::<String>()
        .cloned()
        .unwrap_or_default();
    eprintln!("{message}");
    assert!(message.starts_with("CRI-O did not start"), "{message}");
    assert!(
        message.contains("conmon"),
        "the cause is not named: {message}"
    );
    assert_eq!(message.lines().count(), 1, "more than one line: {message}");
    let conmon = conmon.display().to_string();
    let ours = crio_dirs()
        .into_iter()
        .find(|d| std::fs::read_to_string(d.join("crio.conf")).is_ok_and(|c| c.contains(&conmon)));
    assert_eq!(ours, None, "the node's dir was left behind");
    assert_no_orphaned_crio_resources();
}

/// No mount and no crio process belongs to a CRI-O dir that is gone.
fn assert_no_orphaned_crio_resources() {
    let gone = |path: &str| {
        let dir: PathBuf = PathBuf::from(path).components().take(3).collect();
        dir.to_string_lossy().contains("pause-crio.") && !dir.exists()
    };
    let mounts: Vec<String> = test_support::procfs::mount_points()
        .into_iter()
        .filter(|m| gone(m))
        .collect();
    assert!(
        mounts.is_empty(),
        "mounts of removed CRI-O dirs: {mounts:?}"
    );
    let processes: Vec<(i32, String)> = test_support::procfs::command_lines()
        .into_iter()
        .filter(|(_, c)| c.split_whitespace().any(gone))
        .collect();
    assert!(
        processes.is_empty(),
        "processes of removed CRI-O dirs: {processes:?}"
    );
}

/// The temp dirs of CRI-O nodes that exist now.
fn crio_dirs() -> Vec<PathBuf> {
    std::fs::read_dir(std::env::temp_dir())
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .filter(|p| {
            p.file_name()
                .is_some_and(|n| n.to_string_lossy().starts_with("pause-crio."))
        })
        .collect()
}
