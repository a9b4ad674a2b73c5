//! The deploy/ recipes carry the same image and setting: the CRI suite runs
//! the containerd ones (sandbox-image.toml on 1.6 and 1.7,
//! pinned-images-v3.toml and kind's patch on 2.1); kind itself and CRI-O
//! cannot run here.

use serde::Deserialize;
use test_support::cri::{
    Containerd, Dialect, PINS, read_toml, sandbox_image_of, sandbox_image_toml,
};
use test_support::repo;

fn deploy(path: &str) -> String {
    let p = repo::path("deploy").join(path);
    std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

/// A YAML file of deploy/, deserialized.
fn deploy_yaml<T: serde::de::DeserializeOwned>(path: &str) -> T {
    serde_saphyr::from_str(&deploy(path)).unwrap_or_else(|e| panic!("deploy/{path}: {e}"))
}

fn sandbox_image() -> String {
    sandbox_image_of(&read_toml(&sandbox_image_toml()))
        .expect("deploy/containerd/sandbox-image.toml sets sandbox_image")
}

/// deploy/kind/kind-config.yaml: what of kind's Cluster config the recipe sets.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct KindCluster {
    kind: String,
    api_version: String,
    /// TOML documents kind merges into each node's containerd config.
    containerd_config_patches: Vec<String>,
}

/// deploy/kind/shared-pid-pod.yaml: the Pod fields the recipe is about.
#[derive(Deserialize)]
struct Pod {
    kind: String,
    spec: PodSpec,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct PodSpec {
    #[serde(default)]
    share_process_namespace: bool,
}

#[test]
fn kind_patch_is_the_containerd_setting_the_cri_suite_uses() {
    let cluster: KindCluster = deploy_yaml("kind/kind-config.yaml");
    assert_eq!(
        (cluster.kind.as_str(), cluster.api_version.as_str()),
        ("Cluster", "kind.x-k8s.io/v1alpha4")
    );
    let first = cluster
        .containerd_config_patches
        .first()
        .expect("a patch under containerdConfigPatches");
    let patch: toml::Table = first.parse().expect("kind patch is TOML");
    assert_eq!(
        patch,
        read_toml(&sandbox_image_toml()),
        "deploy/kind/kind-config.yaml's containerdConfigPatches differs from deploy/containerd/sandbox-image.toml"
    );
}

/// The recipes name the image `make oci` writes by default: xtask's
/// DEFAULT_NAME, which the Makefile's IMAGE_NAME repeats, tagged with the
/// project's version.
#[test]
fn sandbox_image_is_the_default_name_and_the_project_version() {
    let version = repo::version();
    let image = sandbox_image();
    assert_eq!(
        image,
        format!("{}:{version}", xtask::DEFAULT_NAME),
        "the image `make oci` names (IMAGE_NAME:$(VERSION))"
    );
    let makefile = std::fs::read_to_string(repo::path("Makefile")).unwrap();
    let default = makefile
        .lines()
        .find_map(|l| l.strip_prefix("IMAGE_NAME"))
        .and_then(|l| l.trim_start().strip_prefix("?="))
        .map(str::trim);
    assert_eq!(
        default,
        Some(xtask::DEFAULT_NAME),
        "the Makefile's IMAGE_NAME default is xtask's DEFAULT_NAME"
    );
}

#[test]
fn containerd_2_and_cri_o_recipes_name_the_same_image() {
    let image = sandbox_image();
    let v3: toml::Table = deploy("containerd/pinned-images-v3.toml").parse().unwrap();
    assert_eq!(v3["version"].as_integer(), Some(3));
    assert_eq!(
        v3["plugins"]["io.containerd.cri.v1.images"]["pinned_images"]["sandbox"].as_str(),
        Some(image.as_str())
    );
    let crio: toml::Table = deploy("cri-o/10-pause.conf").parse().unwrap();
    assert_eq!(
        crio["crio"]["image"]["pause_image"].as_str(),
        Some(image.as_str())
    );
    // CRI-O runs pause_command instead of the image's entrypoint.
    assert_eq!(
        crio["crio"]["image"]["pause_command"].as_str(),
        Some("/pause")
    );
}

#[test]
fn kind_pod_shares_its_pid_namespace() {
    let pod: Pod = deploy_yaml("kind/shared-pid-pod.yaml");
    assert_eq!(pod.kind, "Pod");
    assert!(
        pod.spec.share_process_namespace,
        "deploy/kind/shared-pid-pod.yaml must set shareProcessNamespace: true"
    );
    let kind = deploy("kind/kind-config.yaml");
    assert!(kind.contains("kind load image-archive bin/pause-oci.tar"));
}

/// tests/debian-pins.txt: one exact Debian package version per program (an
/// upgrade is one line), each from a suite Debian serves; the containerd
/// series are those the CRI suite's matrix names.
#[test]
fn debian_pins_name_one_exact_version_each() {
    let pins = std::fs::read_to_string(repo::path(PINS)).expect(PINS);
    let rows: Vec<Vec<&str>> = pins
        .lines()
        .map(|l| l.split('#').next().unwrap_or_default())
        .filter(|l| !l.trim().is_empty())
        .map(|l| l.split_whitespace().collect())
        .collect();
    let names: Vec<&str> = rows.iter().map(|r| r[0]).collect();
    assert_eq!(
        names,
        ["containerd-1.7", "containerd-2.1", "oras", "cosign"],
        "{PINS}: the programs the suites use"
    );
    for row in &rows {
        let [name, suite, package, version] = row[..] else {
            panic!(
                "{PINS}: `{}` is not `name suite package version`",
                row.join(" ")
            );
        };
        assert!(
            ["trixie", "forky", "sid"].contains(&suite),
            "{PINS}: {name} from unknown suite {suite}"
        );
        assert!(
            version.contains('-'),
            "{PINS}: {version} is not an exact Debian version of {package}"
        );
        if let Some(series) = name.strip_prefix("containerd-") {
            assert_eq!(package, "containerd");
            assert!(
                version.starts_with(&format!("{series}.")),
                "{PINS}: {version} is not containerd {series}"
            );
        }
    }
    assert_eq!(
        Containerd::new("2.1", Dialect::PinnedImagesV3).pinned_version(),
        Some(rows[1][3].to_string())
    );
}
