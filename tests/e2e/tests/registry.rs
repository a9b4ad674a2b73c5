//! The sandbox image pulled from a registry, as a node gets it, on every
//! containerd of the matrix (`pause_e2e::containerd_matrix!`, at the bottom).
//!
//! Per node: Debian's docker-registry runs in the node's network namespace
//! (loopback only), `xtask/scripts/push.sh` (what `make push` runs) publishes
//! bin/pause-oci.tar there, and containerd has it as the mirror of the
//! sandbox image's registry (hosts.toml for 1.7 and 2.1, the
//! `registry.mirrors` table for 1.6); every other registry is a dead port.
//! Nothing is imported: the first RunPodSandbox pulls the sandbox image.
//!
//! Needs root, what tests/e2e/tests/containerd.rs needs, docker-registry and
//! jq (`make deps`), oras (`make deps-pinned`) and the archive (`make oci`):
//! `make test-e2e-containerd` provides all of them. Outside CI a missing
//! requirement skips; in CI it fails.

use serde_json::Value;
use std::collections::BTreeSet;
use std::path::Path;
use test_support::ci::require;
use test_support::command::run;
use test_support::cri::{Containerd, NamespaceMode, Node, can_run_on};
use test_support::registry::{self, Registry, Request};
use test_support::repo;

/// What the archive holds, as a registry must serve it: the image index's
/// digest, and this machine's platform manifest with its config and layer.
struct Archive {
    index: String,
    platform_manifest: String,
    platform_blobs: BTreeSet<String>,
    other_manifests: BTreeSet<String>,
}

use pause_e2e::layout::blob_json as digest_blob;

/// The platform this machine pulls: linux/ARCH, and v7 of 32-bit arm.
fn is_this_platform(platform: &Value) -> bool {
    let arch = repo::host_arch();
    platform["os"] == "linux"
        && platform["architecture"] == arch
        && (arch != "arm" || platform["variant"] == "v7")
}

fn read_archive(archive: &Path) -> Archive {
    let index = pause_e2e::layout::image_index(archive)["digest"]
        .as_str()
        .unwrap()
        .to_string();
    let manifests = digest_blob(archive, &index)["manifests"]
        .as_array()
        .unwrap()
        .clone();
    let (ours, others): (Vec<_>, Vec<_>) = manifests
        .iter()
        .partition(|m| is_this_platform(&m["platform"]));
    assert_eq!(
        ours.len(),
        1,
        "the archive has one manifest for this machine"
    );
    let platform_manifest = ours[0]["digest"].as_str().unwrap().to_string();
    let manifest = digest_blob(archive, &platform_manifest);
    let layers = manifest["layers"].as_array().unwrap().iter();
    let platform_blobs = layers
        .chain([&manifest["config"]])
        .map(|d| d["digest"].as_str().unwrap().to_string())
        .collect();
    let other_manifests = others
        .iter()
        .map(|m| m["digest"].as_str().unwrap().to_string())
        .collect();
    Archive {
        index,
        platform_manifest,
        platform_blobs,
        other_manifests,
    }
}

/// A registry holding the pushed archive and a node pulling from it, if both
/// can run here.
fn pulling_node(containerd: Containerd) -> Option<(Node, Registry, Archive)> {
    let missing = registry::missing();
    if !can_run_on(containerd) || !require(missing.is_none(), &missing.unwrap_or_default()) {
        return None;
    }
    let archive = repo::built_pause_archive();
    let registry = Registry::start_isolated();
    let pushed = registry.push(&archive);
    eprintln!("{}", pushed.stdout().lines().next().unwrap_or_default());
    let node = Node::start_pulling_from(containerd, &registry);
    Some((node, registry, read_archive(&archive)))
}

/// The digests (`sha256:...`) of what was fetched from `requests`:
/// manifests by digest, and blobs.
fn fetched(requests: &[Request], what: &str) -> BTreeSet<String> {
    requests
        .iter()
        .filter(|r| r.method == "GET" && r.status == 200)
        .filter_map(|r| r.path.split_once(&format!("/{what}/")))
        // containerd names the mirrored registry in a query: `?ns=localhost`.
        .map(|(_, reference)| reference.split('?').next().unwrap().to_string())
        .filter(|reference| reference.starts_with("sha256:"))
        .collect()
}

/// The image containerd holds under the sandbox image's name: the archive's
/// index digest, as CRI ImageStatus and `ctr images ls` report it.
fn assert_holds_the_archives_index(node: &Node, archive: &Archive) {
    let image = &node.sandbox_image;
    let status = node
        .image_status(image)
        .unwrap_or_else(|| panic!("ImageStatus: {image} unknown after the pull"));
    let repository = image.rsplit_once(':').unwrap().0;
    let expected = format!("{repository}@{}", archive.index);
    assert!(
        status.repo_digests.contains(&expected),
        "ImageStatus {image}: repo digests {:?}, not {expected}",
        status.repo_digests
    );
    let ls = run(node.ctr(&["-n", "k8s.io", "images", "ls", &format!("name=={image}")])).check();
    let row = ls.stdout().lines().nth(1).unwrap_or_default().to_string();
    assert!(
        row.contains(&archive.index) && row.contains("application/vnd.oci.image.index.v1+json"),
        "ctr images ls: {image} is not the archive's index {}:\n{}",
        archive.index,
        ls.stdout()
    );
}

/// Fetched from the registry by the pull: the index, this platform's
/// manifest, its config and layer, and nothing of another platform; and
/// no other platform's manifest in containerd's content store.
fn assert_only_this_platform_fetched(node: &Node, pulled: &[Request], archive: &Archive) {
    let manifests = fetched(pulled, "manifests");
    let blobs = fetched(pulled, "blobs");
    eprintln!(
        "the pull fetched manifests {manifests:?} and blobs {blobs:?} ({} requests)",
        pulled.len()
    );
    let want = BTreeSet::from([archive.index.clone(), archive.platform_manifest.clone()]);
    assert!(
        manifests.is_subset(&want) && manifests.contains(&archive.platform_manifest),
        "manifests fetched {manifests:?}; this platform's is {}",
        archive.platform_manifest
    );
    assert_eq!(blobs, archive.platform_blobs, "blobs fetched");
    let content = run(node.ctr(&["-n", "k8s.io", "content", "ls", "-q"])).check();
    let stored: BTreeSet<String> = content.stdout().lines().map(str::to_string).collect();
    let foreign: Vec<_> = stored.intersection(&archive.other_manifests).collect();
    assert!(
        foreign.is_empty(),
        "containerd stored other platforms' manifests: {foreign:?}"
    );
}

fn the_first_pod_pulls_this_platform_and_later_pods_need_no_registry(containerd: Containerd) {
    let Some((node, mut registry, archive)) = pulling_node(containerd) else {
        return;
    };
    assert!(
        node.image_status(&node.sandbox_image).is_none(),
        "{} is on the node before any pull",
        node.sandbox_image
    );
    let before = registry.requests().len();
    let first = node.run_pod(&node.pod_config("first", NamespaceMode::Pod, false));
    pause_e2e::assert_runs_our_pause(first.pid);
    let pulled = registry.requests()[before..].to_vec();
    assert_holds_the_archives_index(&node, &archive);
    assert_only_this_platform_fetched(&node, &pulled, &archive);

    let before = registry.requests().len();
    let second = node.run_pod(&node.pod_config("second", NamespaceMode::Pod, false));
    pause_e2e::assert_runs_our_pause(second.pid);
    let again = registry.requests()[before..].to_vec();
    assert!(again.is_empty(), "the second pod fetched {again:?}");

    registry.stop();
    let offline = node.run_pod(&node.pod_config("offline", NamespaceMode::Pod, false));
    pause_e2e::assert_runs_our_pause(offline.pid);
    eprintln!(
        "containerd {} ({:?}): pulled {} from {}; 2 more pods, the last with the registry down",
        containerd.series,
        containerd.dialect,
        archive.index,
        registry.endpoint()
    );
    for s in [first, second, offline] {
        node.stop_pod(&s.id);
        node.remove_pod(&s.id);
    }
}

fn a_registry_down_at_the_first_pull_fails_the_pod_with_containerds_error(containerd: Containerd) {
    let Some((node, mut registry, _archive)) = pulling_node(containerd) else {
        return;
    };
    registry.stop();
    let config = node.pod_config("no-registry", NamespaceMode::Pod, false);
    let start = std::time::Instant::now();
    let err = node
        .try_run_pod(&config)
        .map(|s| s.id)
        .expect_err("a pod started with no registry and no image");
    eprintln!(
        "containerd {} ({:?}): RunPodSandbox failed after {:?} as it should: {err}",
        containerd.series,
        containerd.dialect,
        start.elapsed()
    );
    assert!(
        err.contains(&node.sandbox_image) && err.contains(&registry.host()),
        "the error names neither the image nor the registry {}: {err}",
        registry.host()
    );
    // Nothing is left of the attempt: no pod, no image; once the registry
    // is back, the same pod starts, as kubelet's retry would.
    assert!(
        node.list_pods().is_empty(),
        "pods left: {:?}",
        node.list_pods()
    );
    assert!(node.image_status(&node.sandbox_image).is_none());
    registry.start();
    let s = node.run_pod(&config);
    pause_e2e::assert_runs_our_pause(s.pid);
    node.stop_pod(&s.id);
    node.remove_pod(&s.id);
}

pause_e2e::containerd_matrix!(
    the_first_pod_pulls_this_platform_and_later_pods_need_no_registry,
    a_registry_down_at_the_first_pull_fails_the_pod_with_containerds_error,
);
