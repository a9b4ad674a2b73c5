//! The sandbox image against kubelet's image garbage collection, on every
//! containerd of the matrix (`pause_e2e::containerd_matrix!`, at the
//! bottom). Since kubernetes/kubernetes#118544 (kubelet 1.29) kubelet keeps
//! an image no container uses only if the runtime reports it `pinned`; nodes
//! lost their pause image this way (awslabs/amazon-eks-ami#1597), and an
//! image loaded with `ctr` was not pinned by every containerd
//! (containerd/containerd#9726).
//!
//! Each test asserts what its version answers, from the table in
//! [`pinning`]: where a version does not pin, the test shows the image lost
//! to the garbage collection and the next pod failing to pull it.
//!
//! Needs what tests/e2e/tests/containerd.rs needs, and for the pull what
//! tests/e2e/tests/registry.rs needs: `make test-e2e-containerd`.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;
use test_support::ci::require;
use test_support::command::run;
use test_support::cri::api;
use test_support::cri::{Containerd, NamespaceMode, Node, can_run_on, pack_workload};
use test_support::registry::{self, Registry};
use test_support::repo;
use test_support::wait::wait_for;

/// The label containerd's CRI plugin reads as "pinned" (1.7 and later).
const PINNED_LABEL: &str = "io.cri-containerd.pinned=pinned";

/// What a containerd answers: ImageStatus's (and ListImages') `pinned`,
/// which decides whether kubelet's GC keeps an unused image.
#[derive(Debug, Clone, Copy)]
struct Pinning {
    /// The sandbox image after `ctr images import` alone ([`Node::import`]).
    after_import: bool,
    /// The sandbox image after deploy/containerd/import.sh (the air-gap recipe).
    after_recipe: bool,
    /// The sandbox image after the CRI plugin pulled it for the first pod.
    after_pull: bool,
    /// Any other image after `ctr images label IMAGE` [`PINNED_LABEL`].
    label_honoured: bool,
}

/// The table, per version, as this suite measured it. 1.6.20's CRI plugin
/// has no notion of pinning (containerd/containerd#7944 came with 1.7.0):
/// false whatever is done. 1.7.24 and 2.1.9 pin the configured sandbox
/// image however it was loaded (containerd/containerd#9732, in 1.7 since
/// #9784) and any image that carries the label. A version without a row
/// fails: measure it, then add its row.
fn pinning(containerd: Containerd) -> Pinning {
    let row = |after_import, after_recipe, after_pull, label_honoured| Pinning {
        after_import,
        after_recipe,
        after_pull,
        label_honoured,
    };
    match containerd.series {
        //          import recipe pull  label
        "1.6" => row(false, false, false, false),
        "1.7" => row(true, true, true, true),
        "2.1" => row(true, true, true, true),
        other => panic!("containerd {other}: no row in the pinning table"),
    }
}

/// A node of `containerd` with nothing loaded, if it can run here.
fn node(containerd: Containerd) -> Option<Node> {
    if !can_run_on(containerd) {
        return None;
    }
    repo::built_pause_archive();
    Some(Node::start_on(containerd))
}

fn label(containerd: Containerd) -> String {
    format!(
        "containerd {} ({:?})",
        containerd.series, containerd.dialect
    )
}

/// How long the CRI plugin may take to apply what `ctr` did: it learns of
/// imports and labels from containerd's event stream, after `ctr` returns.
const SETTLE: Duration = Duration::from_secs(10);

/// An image's `pinned` flag from ImageStatus and from ListImages, which
/// must agree; None while the CRI image service does not know the image.
fn pinned_flag(node: &Node, image: &str) -> Option<bool> {
    let status = node.image_status(image)?;
    let listed = node.list_images().into_iter().find(|i| i.id == status.id);
    let listed = listed.unwrap_or_else(|| panic!("ListImages lacks {image} ({})", status.id));
    assert_eq!(
        status.pinned, listed.pinned,
        "ImageStatus and ListImages disagree on {image}"
    );
    Some(status.pinned)
}

/// Asserts that CRI reports `image` with `pinned` as `expected`, once it
/// has applied what `ctr` did (within [`SETTLE`]).
fn assert_pinned(node: &Node, image: &str, expected: bool, when: &str) {
    let what = format!(
        "{}: {image} pinned={expected} {when}",
        label(node.containerd)
    );
    wait_for(&what, SETTLE, || match pinned_flag(node, image) {
        Some(p) if p == expected => Ok(()),
        Some(p) => Err(format!("pinned={p}")),
        None => Err("CRI does not know the image".into()),
    });
    eprintln!("{what}");
}

/// Kubelet's image garbage collection on `node`: the first name (tag, else
/// id) of each image it removed.
fn gc(node: &Node) -> BTreeSet<String> {
    let removed = node.collect_unused_images();
    let names = removed
        .iter()
        .map(|i| i.repo_tags.first().unwrap_or(&i.id).clone())
        .collect();
    eprintln!("{}: GC removed {names:?}", label(node.containerd));
    names
}

/// What GC removes of `images` given whether they are pinned: each one
/// that is not.
fn removed_unless(pinned: bool, images: &[&str]) -> BTreeSet<String> {
    let all = images.iter().map(|i| i.to_string());
    all.filter(|_| !pinned).collect()
}

/// A new pod starts (its image is still there), or, if the image was
/// collected, fails to pull it: no registry answers any more.
fn assert_new_pod_starts_offline(node: &Node, image_kept: bool) {
    let mut rs = node.runtime();
    let result = node
        .call(rs.run_pod_sandbox(api::RunPodSandboxRequest {
            config: Some(node.pod_config("after-gc", NamespaceMode::Pod, false)),
            runtime_handler: String::new(),
        }))
        .map(|r| r.into_inner().pod_sandbox_id)
        .map_err(|e| e.message().to_string());
    eprintln!("{}: a pod after GC: {result:?}", label(node.containerd));
    if image_kept {
        let id = result.unwrap_or_else(|e| panic!("a pod after GC: {e}\n{}", node.log_tail()));
        let (state, _) = node.pod_status(&id);
        assert_eq!(state, api::PodSandboxState::SandboxReady);
    } else {
        let err = result.expect_err("a pod started without its sandbox image");
        assert!(err.contains("failed to pull"), "not a failed pull: {err}");
    }
}

/// After a plain `ctr images import`, ImageStatus and ListImages report
/// `pinned` as the table says.
fn pinned_flag_after_ctr_import(containerd: Containerd) {
    let Some(node) = node(containerd) else {
        return;
    };
    let image = node.sandbox_image.clone();
    node.import(&repo::pause_archive(), &image);
    let expected = pinning(containerd).after_import;
    assert_pinned(&node, &image, expected, "after `ctr images import`");
}

/// Garbage collection as kubelet does it, after a plain import: with a pod
/// and its container running, then after they are removed. The workload
/// image goes once unused; the sandbox image stays exactly when it is
/// pinned, and then a new pod starts with every registry unreachable.
fn gc_after_ctr_import(containerd: Containerd) {
    let Some(node) = node(containerd) else {
        return;
    };
    let image = node.sandbox_image.clone();
    node.import(&repo::pause_archive(), &image);
    let workload = pack_workload(node.dir.path());
    node.import(&workload.archive, &workload.reference);
    let pod = node.pod_config("busy", NamespaceMode::Pod, false);
    let s = node.run_pod(&pod);
    let serve = ["/workload", "serve"];
    node.run_container(&s, &pod, "work", &workload.reference, &serve);

    let kept = pinning(containerd).after_import;
    let what = label(containerd);
    assert_eq!(
        gc(&node),
        removed_unless(kept, &[&image]),
        "{what}: GC, pod up"
    );
    node.stop_pod(&s.id);
    node.remove_pod(&s.id);
    let unused = removed_unless(false, &[&workload.reference]);
    assert_eq!(gc(&node), unused, "{what}: GC after the pod");
    assert_new_pod_starts_offline(&node, kept);
}

/// `ctr images label` with [`PINNED_LABEL`] pins an image that is not the
/// sandbox image (one loaded before the config names it, say) where the
/// table says the label is honoured, and GC keeps it then.
fn pinned_label_pins_any_image(containerd: Containerd) {
    let Some(node) = node(containerd) else {
        return;
    };
    let workload = pack_workload(node.dir.path());
    node.import(&workload.archive, &workload.reference);
    assert_pinned(&node, &workload.reference, false, "unlabelled");
    run(node.ctr(&[
        "-n",
        "k8s.io",
        "images",
        "label",
        &workload.reference,
        PINNED_LABEL,
    ]))
    .check();
    // The CRI plugin learns of the label from containerd's event stream; the
    // import after it is on the same stream, so once CRI lists that image,
    // it has seen the label: a "false" below is no race.
    let image = node.sandbox_image.clone();
    node.import(&repo::pause_archive(), &image);
    let honoured = pinning(containerd).label_honoured;
    let what = label(containerd);
    assert_pinned(&node, &workload.reference, honoured, "after the label");
    let mut lost = removed_unless(honoured, &[&workload.reference]);
    lost.extend(removed_unless(pinning(containerd).after_import, &[&image]));
    assert_eq!(gc(&node), lost, "{what}: GC after the label");
}

/// deploy/containerd/import.sh ARCHIVE ADDRESS k8s.io, exactly as a user
/// runs it, with the node's own `ctr` first on PATH.
fn run_import_recipe(node: &Node, archive: &Path) {
    let mut path = node.containerd.bin_dir().into_iter().collect::<Vec<_>>();
    path.extend(std::env::split_paths(
        &std::env::var_os("PATH").unwrap_or_default(),
    ));
    let mut sh = Command::new(repo::path("deploy/containerd/import.sh"));
    sh.arg(archive)
        .arg(&node.socket)
        .arg("k8s.io")
        .env("PATH", std::env::join_paths(path).unwrap());
    run(sh).check();
}

/// The air-gap recipe, deploy/containerd/import.sh, run exactly: the sandbox
/// image is pinned after it as the table says, survives garbage collection
/// if so, and a new pod then starts with every registry unreachable.
fn import_recipe_pins_the_sandbox_image(containerd: Containerd) {
    let Some(node) = node(containerd) else {
        return;
    };
    run_import_recipe(&node, &repo::pause_archive());
    let image = node.sandbox_image.clone();
    let kept = pinning(containerd).after_recipe;
    let what = label(containerd);
    assert_pinned(&node, &image, kept, "after the recipe");
    assert_eq!(gc(&node), removed_unless(kept, &[&image]), "{what}: GC");
    assert_new_pod_starts_offline(&node, kept);
}

/// The next version of the sandbox image, as an operator loads it before
/// the config names it: the pause binary packed as `REPOSITORY:next` into
/// `dir/next.tar`; returns the archive and the reference.
fn pack_next_pause(node: &Node) -> (PathBuf, String) {
    let (repository, _tag) = node.sandbox_image.rsplit_once(':').expect("a tagged name");
    let bin = repo::path(&format!("bin/pause-linux-{}", repo::host_arch()));
    let binary = std::fs::read(&bin).unwrap_or_else(|e| panic!("{}: {e}", bin.display()));
    let opts = xtask::Options {
        epoch: 0,
        path: "/pause".into(),
        entrypoint: vec!["/pause".into()],
        user: "65535:65535".into(),
        labels: Default::default(),
        name: repository.into(),
        tag: "next".into(),
        tool: "the pinning suite's next pause".into(),
    };
    let input = xtask::Input {
        arch: repo::host_arch().into(),
        binary,
        source_name: "pause".into(),
    };
    let built = xtask::build(&opts, &[input]).expect("pack the next pause");
    let archive = node.dir.path().join("next.tar");
    std::fs::write(&archive, built.archive).unwrap();
    (archive, format!("{repository}:next"))
}

/// The recipe on an image the config does not name yet (an upgrade, loaded
/// before containerd restarts with the new name): only the recipe's label
/// can pin it, and it does where the label is honoured; GC keeps it then.
fn import_recipe_pins_an_image_before_the_config_names_it(containerd: Containerd) {
    let Some(node) = node(containerd) else {
        return;
    };
    let (archive, next) = pack_next_pause(&node);
    run_import_recipe(&node, &archive);
    let kept = pinning(containerd).label_honoured;
    let what = label(containerd);
    assert_pinned(&node, &next, kept, "after the recipe");
    assert_eq!(gc(&node), removed_unless(kept, &[&next]), "{what}: GC");
}

/// The sandbox image pulled by the first pod from a registry (as
/// tests/e2e/tests/registry.rs does it): pinned as the table says; with the
/// registry stopped, it survives GC if so and a new pod starts.
fn pinned_after_a_pull(containerd: Containerd) {
    let missing = registry::missing();
    if !can_run_on(containerd) || !require(missing.is_none(), &missing.unwrap_or_default()) {
        return;
    }
    let mut registry = Registry::start_isolated();
    registry.push(&repo::pause_archive()).check();
    let node = Node::start_pulling_from(containerd, &registry);
    let image = node.sandbox_image.clone();
    let first = node.run_pod(&node.pod_config("first", NamespaceMode::Pod, false));
    let kept = pinning(containerd).after_pull;
    let what = label(containerd);
    assert_pinned(&node, &image, kept, "after the pull");
    registry.stop();
    node.stop_pod(&first.id);
    node.remove_pod(&first.id);
    assert_eq!(gc(&node), removed_unless(kept, &[&image]), "{what}: GC");
    assert_new_pod_starts_offline(&node, kept);
}

pause_e2e::containerd_matrix!(
    pinned_flag_after_ctr_import,
    gc_after_ctr_import,
    pinned_label_pins_any_image,
    import_recipe_pins_the_sandbox_image,
    import_recipe_pins_an_image_before_the_config_names_it,
    pinned_after_a_pull,
);
