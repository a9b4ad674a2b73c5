//! The deploy/ recipes that cannot run here (kind, CRI-O, containerd 2.x)
//! carry the same setting as the one the CRI suite runs with.

use test_support::cri::{read_toml, sandbox_image_of, sandbox_image_toml, workspace};

fn deploy(path: &str) -> String {
    let p = workspace().join("deploy").join(path);
    std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

fn sandbox_image() -> String {
    sandbox_image_of(&read_toml(&sandbox_image_toml()))
        .expect("deploy/containerd/sandbox-image.toml sets sandbox_image")
}

/// The first block scalar under `containerdConfigPatches:`, dedented.
fn first_patch(yaml: &str) -> String {
    let mut lines = yaml
        .lines()
        .skip_while(|l| !l.starts_with("containerdConfigPatches:"))
        .skip(1);
    let item = lines.next().expect("a patch under containerdConfigPatches");
    assert!(
        item.trim_start().starts_with("- |"),
        "patch is not a block scalar: {item}"
    );
    let item_indent = item.len() - item.trim_start().len();
    let mut body = Vec::new();
    let mut indent = None;
    for l in lines {
        if l.trim().is_empty() {
            body.push(String::new());
            continue;
        }
        let i = l.len() - l.trim_start().len();
        if i <= item_indent {
            break;
        }
        let i = *indent.get_or_insert(i);
        body.push(l[i.min(l.len() - l.trim_start().len())..].to_string());
    }
    body.join("\n")
}

#[test]
fn kind_patch_is_the_containerd_setting_the_cri_suite_uses() {
    let patch: toml::Table = first_patch(&deploy("kind/kind-config.yaml"))
        .parse()
        .expect("kind patch is TOML");
    assert_eq!(
        patch,
        read_toml(&sandbox_image_toml()),
        "deploy/kind/kind-config.yaml's containerdConfigPatches differs from deploy/containerd/sandbox-image.toml"
    );
}

#[test]
fn sandbox_image_tag_is_the_project_version() {
    let root = read_toml(&workspace().join("Cargo.toml"));
    let version = root["package"]["version"].as_str().unwrap();
    let image = sandbox_image();
    assert_eq!(
        image,
        format!("docker.io/library/pause:{version}"),
        "the image `make oci` names (docker.io/library/pause:$(VERSION))"
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
    let pod = deploy("kind/shared-pid-pod.yaml");
    assert!(
        pod.lines()
            .any(|l| l.trim() == "shareProcessNamespace: true"),
        "deploy/kind/shared-pid-pod.yaml must set shareProcessNamespace: true"
    );
    let kind = deploy("kind/kind-config.yaml");
    assert!(kind.contains("kind load image-archive bin/pause-oci.tar"));
}
