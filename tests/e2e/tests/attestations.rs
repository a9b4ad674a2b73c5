//! bin/pause-oci.tar carries each image's SBOM and provenance as OCI 1.1
//! referrers, read here as a user reads them: with oras on the archive
//! itself. What they say is checked against what the repository holds: the
//! binaries in bin/, the crate graph `cargo tree` prints, Cargo.lock.

use pause_e2e::layout::platform_of;
use serde_json::Value;
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;
use test_support::ci::require;
use test_support::command::run;
use test_support::repo;

const SBOM: &str = "application/vnd.cyclonedx+json";
const PROVENANCE: &str = "application/vnd.in-toto+json";

/// Each platform of the index: the name in bin/ and the Rust target.
const PLATFORMS: [(&str, &str, &str); 8] = [
    ("linux/amd64", "amd64", "x86_64-unknown-linux-gnu"),
    ("linux/arm64/v8", "arm64", "aarch64-unknown-linux-gnu"),
    ("linux/arm/v7", "arm", "armv7-unknown-linux-gnueabihf"),
    ("linux/ppc64le", "ppc64le", "powerpc64le-unknown-linux-gnu"),
    ("linux/s390x", "s390x", "s390x-unknown-linux-gnu"),
    ("linux/riscv64", "riscv64", "riscv64gc-unknown-linux-gnu"),
    ("linux/loong64", "loong64", "loongarch64-unknown-linux-gnu"),
    ("linux/arm/v6", "arm-v6", "arm-unknown-linux-gnueabihf"),
];

/// `oras ARGS` (the pinned oras, `make deps-pinned`), which must succeed.
fn oras(args: &[&str]) -> Vec<u8> {
    let mut c = Command::new(repo::pinned("oras"));
    c.args(args);
    run(c).check().out.stdout
}

fn json(bytes: &[u8]) -> Value {
    serde_json::from_slice(bytes).unwrap()
}

/// `sha256sum FILE`'s hex.
fn sha256(file: &Path) -> String {
    let mut c = Command::new("sha256sum");
    c.arg(file);
    let out = run(c).check().stdout();
    out.split_whitespace().next().unwrap().to_string()
}

fn archive() -> Option<PathBuf> {
    let oras = repo::pinned("oras");
    if !require(oras.is_file(), "oras (make deps-pinned)") {
        return None;
    }
    Some(repo::built_pause_archive())
}

#[test]
fn oras_discovers_an_sbom_and_a_provenance_for_every_platform() {
    let Some(archive) = archive() else { return };
    let layout = format!("{}:{}", archive.display(), repo::version());
    let index = json(&oras(&["manifest", "fetch", "--oci-layout", &layout]));
    let manifests = index["manifests"].as_array().unwrap();
    assert_eq!(manifests.len(), PLATFORMS.len());
    for image in manifests {
        let platform = platform_of(image);
        let at = |digest: &str| format!("{}@{digest}", archive.display());
        // As a user asks: the tag and a platform.
        let found = json(&oras(&[
            "discover",
            "--oci-layout",
            "--format",
            "json",
            "--platform",
            &platform,
            &layout,
        ]));
        assert_eq!(
            found["digest"], image["digest"],
            "{platform}: manifest found"
        );
        let referrers = found["referrers"].as_array().unwrap();
        let types: BTreeSet<&str> = referrers
            .iter()
            .map(|r| r["artifactType"].as_str().unwrap())
            .collect();
        assert_eq!(types, BTreeSet::from([SBOM, PROVENANCE]), "{platform}");
        assert_eq!(referrers.len(), 2, "{platform}: one of each");
        for referrer in referrers {
            let manifest = json(&oras(&[
                "manifest",
                "fetch",
                "--oci-layout",
                &at(referrer["digest"].as_str().unwrap()),
            ]));
            let document = check_artifact(&manifest, image, &at);
            match referrer["artifactType"].as_str().unwrap() {
                SBOM => check_sbom(&document, &platform),
                _ => check_provenance(&document, image, &platform),
            }
        }
    }
}

/// The artifact manifest points at exactly the image's descriptor and holds
/// one document of its artifact type; returns the document.
fn check_artifact(manifest: &Value, image: &Value, at: &dyn Fn(&str) -> String) -> Value {
    // The image's descriptor as the index lists it, less the platform.
    let mut subject = image.clone();
    subject.as_object_mut().unwrap().remove("platform");
    assert_eq!(manifest["subject"], subject, "subject");
    assert_eq!(
        manifest["config"]["mediaType"],
        "application/vnd.oci.empty.v1+json"
    );
    let layers = manifest["layers"].as_array().unwrap();
    assert_eq!(layers.len(), 1);
    assert_eq!(layers[0]["mediaType"], manifest["artifactType"]);
    json(&oras(&[
        "blob",
        "fetch",
        "--oci-layout",
        "--output",
        "-",
        &at(layers[0]["digest"].as_str().unwrap()),
    ]))
}

fn row(platform: &str) -> (&'static str, &'static str) {
    let (_, file, target) = PLATFORMS.iter().find(|(p, _, _)| *p == platform).unwrap();
    (file, target)
}

/// The SBOM lists bin/'s binary by its digest, exactly the crates `cargo
/// tree` finds in the binary's graph for its target, and says it is complete.
fn check_sbom(sbom: &Value, platform: &str) {
    let (file, target) = row(platform);
    assert_eq!(sbom["bomFormat"], "CycloneDX");
    assert_eq!(sbom["specVersion"], "1.5");
    let components = sbom["components"].as_array().unwrap();
    let files: Vec<&Value> = components.iter().filter(|c| c["type"] == "file").collect();
    assert_eq!(files.len(), 1, "{platform}: one file");
    assert_eq!(files[0]["name"], "/pause");
    let binary = repo::path(&format!("bin/pause-linux-{file}"));
    assert_eq!(
        files[0]["hashes"][0]["content"],
        sha256(&binary),
        "{platform}: digest of {file}"
    );
    let crates: BTreeSet<String> = components
        .iter()
        .filter_map(|c| {
            c["purl"]
                .as_str()?
                .strip_prefix("pkg:cargo/")
                .map(str::to_string)
        })
        .collect();
    assert_eq!(crates, shipped_crates(target), "{platform}: crates");
    let composition = &sbom["compositions"][0];
    assert_eq!(composition["aggregate"], "complete");
    assert_eq!(
        composition["assemblies"].as_array().unwrap().len(),
        components.len() + 1
    );
}

/// `name@version` of every crate in pause's normal-dependency graph for
/// `target`, as `cargo tree` prints it (pause itself left out).
fn shipped_crates(target: &str) -> BTreeSet<String> {
    let mut c = Command::new("cargo");
    c.args([
        "tree", "--locked", "-q", "-p", "pause", "-e", "normal", "--prefix", "none", "--target",
        target,
    ]);
    c.current_dir(repo::root());
    let out = run(c).check().stdout();
    out.lines()
        .filter_map(|l| {
            let mut words = l.split_whitespace();
            let (name, version) = (words.next()?, words.next()?.strip_prefix('v')?);
            (name != "pause").then(|| format!("{name}@{version}"))
        })
        .collect()
}

/// The provenance's subject is the manifest it is attached to, and the
/// binary; its inputs are this checkout's Cargo.lock and link.ld.
fn check_provenance(statement: &Value, image: &Value, platform: &str) {
    let (file, target) = row(platform);
    assert_eq!(statement["_type"], "https://in-toto.io/Statement/v1");
    assert_eq!(statement["predicateType"], "https://slsa.dev/provenance/v1");
    let digest = image["digest"]
        .as_str()
        .unwrap()
        .strip_prefix("sha256:")
        .unwrap();
    assert_eq!(
        statement["subject"][0]["digest"]["sha256"], digest,
        "{platform}: subject"
    );
    let binary = repo::path(&format!("bin/pause-linux-{file}"));
    assert_eq!(statement["subject"][1]["digest"]["sha256"], sha256(&binary));
    let build = &statement["predicate"]["buildDefinition"];
    assert_eq!(build["externalParameters"]["platform"], platform);
    assert_eq!(build["externalParameters"]["target"], target);
    let inputs = build["resolvedDependencies"].as_array().unwrap();
    for input in ["Cargo.lock", "link.ld"] {
        let entry = inputs.iter().find(|d| d["name"] == input).unwrap();
        assert_eq!(
            entry["digest"]["sha256"],
            sha256(&repo::path(input)),
            "{input}"
        );
    }
    let toolchain = build["internalParameters"]["toolchain"].as_str().unwrap();
    assert!(
        toolchain.starts_with("rustc ") && toolchain.contains("\nrelease: "),
        "{toolchain}"
    );
}
