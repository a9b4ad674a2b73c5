//! bin/pause-oci.tar (`make oci`) loads with an independent OCI reader
//! (skopeo): one image index, and each platform resolves to an image that
//! runs /pause as 65535:65535.

use std::process::Command;
use test_support::ci::{require, which};
use test_support::command::run;
use test_support::repo;

fn skopeo(args: &[&str]) -> serde_json::Value {
    let mut c = Command::new("skopeo");
    c.args(args);
    serde_json::from_slice(&run(c).check().out.stdout).unwrap()
}

#[test]
fn skopeo_reads_the_index_and_every_platform() {
    if !require(which("skopeo").is_some(), "skopeo (make deps)") {
        return;
    }
    let archive = repo::pause_archive();
    assert!(
        archive.exists(),
        "{} missing: run `make oci`",
        archive.display()
    );
    let version = repo::version();
    // By tag: index.json also lists the images' referrers (SBOM and
    // provenance), so a reference without one is ambiguous to skopeo.
    let tagged = format!("oci-archive:{}:{version}", archive.display());

    let index = skopeo(&["inspect", "--raw", &tagged]);
    assert_eq!(
        index["mediaType"],
        "application/vnd.oci.image.index.v1+json"
    );
    let mut platforms = platforms(&index);
    platforms.sort();
    assert_eq!(
        platforms,
        [
            "linux/amd64",
            "linux/arm/v6",
            "linux/arm/v7",
            "linux/arm64/v8",
            "linux/loong64",
            "linux/ppc64le",
            "linux/riscv64",
            "linux/s390x"
        ]
    );

    for (arch, variant) in [
        ("amd64", None),
        ("arm64", Some("v8")),
        ("arm", Some("v7")),
        ("arm", Some("v6")),
        ("ppc64le", None),
        ("s390x", None),
        ("riscv64", None),
        ("loong64", None),
    ] {
        assert_platform_config(&tagged, arch, variant, &version);
    }
}

/// The platforms an image index lists, as `os/arch[/variant]`.
fn platforms(index: &serde_json::Value) -> Vec<String> {
    index["manifests"]
        .as_array()
        .unwrap()
        .iter()
        .map(pause_e2e::layout::platform_of)
        .collect()
}

/// The image `tagged` resolves to on linux/`arch`[/`variant`] runs /pause as
/// 65535:65535 and carries the OCI labels.
fn assert_platform_config(tagged: &str, arch: &str, variant: Option<&str>, version: &str) {
    let mut args = vec!["--override-os", "linux", "--override-arch", arch];
    if let Some(v) = variant {
        args.extend(["--override-variant", v]);
    }
    args.extend(["inspect", "--config", tagged]);
    let config = skopeo(&args);
    assert_eq!(config["architecture"], arch);
    assert_eq!(config["variant"].as_str(), variant);
    assert_eq!(config["config"]["User"], "65535:65535");
    assert_eq!(
        config["config"]["Entrypoint"],
        serde_json::json!(["/pause"])
    );
    let labels = &config["config"]["Labels"];
    assert_eq!(labels["org.opencontainers.image.version"], version);
    assert_eq!(labels["org.opencontainers.image.licenses"], "Apache-2.0");
    for k in ["title", "description", "revision"] {
        let key = format!("org.opencontainers.image.{k}");
        assert!(
            labels[&key].as_str().is_some_and(|v| !v.is_empty()),
            "label {key} missing for {arch}"
        );
    }
    // Where the code came from is a web address or nothing: a clone of a
    // local directory must not publish its path.
    let source = &labels["org.opencontainers.image.source"];
    assert!(
        source.is_null()
            || source
                .as_str()
                .is_some_and(|s| s.starts_with("https://") || s.starts_with("http://")),
        "label org.opencontainers.image.source is neither a URL nor absent for {arch}: {source}"
    );
}
