//! bin/pause-oci.tar (`make oci`) loads with an independent OCI reader
//! (skopeo): one image index, and each platform resolves to an image that
//! runs /pause as 65535:65535.

use test_support::cri::{in_ci, pause_archive, read_toml, workspace};
use std::process::Command;

fn skopeo(args: &[&str]) -> serde_json::Value {
    let out = Command::new("skopeo")
        .args(args)
        .output()
        .expect("run skopeo");
    assert!(
        out.status.success(),
        "skopeo {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

#[test]
fn skopeo_reads_the_index_and_every_platform() {
    if test_support::cri::which("skopeo").is_none() {
        assert!(!in_ci(), "required in CI: skopeo (make deps-cri)");
        eprintln!("SKIPPED (not in CI): skopeo missing: make deps-cri");
        return;
    }
    let archive = pause_archive();
    assert!(
        archive.exists(),
        "{} missing: run `make oci`",
        archive.display()
    );
    let version = read_toml(&workspace().join("Cargo.toml"))["package"]["version"]
        .as_str()
        .unwrap()
        .to_string();
    let all = format!("oci-archive:{}", archive.display());
    let tagged = format!("{all}:{version}");

    let index = skopeo(&["inspect", "--raw", &all]);
    assert_eq!(
        index["mediaType"],
        "application/vnd.oci.image.index.v1+json"
    );
    let mut platforms: Vec<String> = index["manifests"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| {
            let p = &m["platform"];
            let mut s = format!(
                "{}/{}",
                p["os"].as_str().unwrap(),
                p["architecture"].as_str().unwrap()
            );
            if let Some(v) = p["variant"].as_str() {
                s = format!("{s}/{v}");
            }
            s
        })
        .collect();
    platforms.sort();
    assert_eq!(
        platforms,
        [
            "linux/amd64",
            "linux/arm/v7",
            "linux/arm64",
            "linux/ppc64le",
            "linux/riscv64",
            "linux/s390x"
        ]
    );

    for (arch, variant) in [
        ("amd64", None),
        ("arm64", None),
        ("arm", Some("v7")),
        ("ppc64le", None),
        ("s390x", None),
        ("riscv64", None),
    ] {
        let mut args = vec!["--override-os", "linux", "--override-arch", arch];
        if let Some(v) = variant {
            args.extend(["--override-variant", v]);
        }
        args.extend(["inspect", "--config", tagged.as_str()]);
        let config = skopeo(&args);
        assert_eq!(config["architecture"], arch);
        assert_eq!(config["variant"].as_str(), variant);
        assert_eq!(config["config"]["User"], "65535:65535");
        assert_eq!(
            config["config"]["Entrypoint"],
            serde_json::json!(["/pause"])
        );
        let labels = &config["config"]["Labels"];
        assert_eq!(labels["org.opencontainers.image.version"], version.as_str());
        assert_eq!(labels["org.opencontainers.image.licenses"], "Apache-2.0");
        for k in ["title", "description", "source", "revision"] {
            let key = format!("org.opencontainers.image.{k}");
            assert!(
                labels[&key].as_str().is_some_and(|v| !v.is_empty()),
                "label {key} missing for {arch}"
            );
        }
    }
}
