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
        .filter(|c| c["type"] == "library" && c["bom-ref"] != "rust:core")
        .filter_map(|c| {
            c["purl"]
                .as_str()?
                .strip_prefix("pkg:cargo/")
                .map(str::to_string)
        })
        .collect();
    assert_eq!(crates, shipped_crates(target), "{platform}: crates");
    check_package_urls(components, platform);
    let composition = &sbom["compositions"][0];
    assert_eq!(composition["aggregate"], "complete");
    assert_eq!(
        composition["assemblies"].as_array().unwrap().len(),
        components.len() + 1
    );
}

/// The package and the toolchain's `core` have the package URLs scanners
/// list them by: pause at its version, `core` at the toolchain's release.
fn check_package_urls(components: &[Value], what: &str) {
    let purl = |bom_ref: &str| {
        let c = components.iter().find(|c| c["bom-ref"] == bom_ref);
        c.and_then(|c| c["purl"].as_str()).map(str::to_string)
    };
    let version = repo::version();
    assert_eq!(
        purl("package:pause"),
        Some(format!("pkg:cargo/pause@{version}")),
        "{what}: the package's purl"
    );
    assert_eq!(
        purl("rust:core"),
        Some(format!("pkg:cargo/core@{}", rust_release())),
        "{what}: core's purl"
    );
}

/// The `release:` of `rustc -Vv`, the pinned toolchain's.
fn rust_release() -> String {
    let mut c = Command::new("rustc");
    c.arg("-Vv").current_dir(repo::root());
    let out = run(c).check().stdout();
    out.lines()
        .find_map(|l| l.strip_prefix("release: "))
        .expect("rustc -Vv has a release line")
        .to_string()
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
    check_build_type(statement);
}

/// The build type is the page of this repository that describes the build,
/// by the package's URL with the page as subpath; the builder is the xtask
/// crate, with the command that runs it again.
fn check_build_type(statement: &Value) {
    let version = repo::version();
    let build_type = &statement["predicate"]["buildDefinition"]["buildType"];
    assert_eq!(
        build_type,
        format!("pkg:cargo/pause@{version}#xtask/build-type.md").as_str()
    );
    assert!(repo::path("xtask/build-type.md").is_file());
    let builder = statement["predicate"]["runDetails"]["builder"]["id"]
        .as_str()
        .unwrap();
    assert!(
        builder.starts_with("pkg:cargo/xtask@") && builder.ends_with("?rerun=make%20oci#xtask"),
        "builder {builder}"
    );
}

/// The index (what the tag names) carries one SBOM for the whole release,
/// every platform's file by its digest, and one provenance whose subject is
/// the index and every file: what a scanner asking by tag finds.
#[test]
fn oras_discovers_the_release_sbom_and_provenance_on_the_index() {
    let Some(archive) = archive() else { return };
    let layout = format!("{}:{}", archive.display(), repo::version());
    let at = |digest: &str| format!("{}@{digest}", archive.display());
    let index = pause_e2e::layout::image_index(&archive);
    let found = json(&oras(&[
        "discover",
        "--oci-layout",
        "--format",
        "json",
        &layout,
    ]));
    assert_eq!(found["digest"], index["digest"], "the tag names the index");
    let referrers = found["referrers"].as_array().unwrap();
    let types: BTreeSet<&str> = referrers
        .iter()
        .map(|r| r["artifactType"].as_str().unwrap())
        .collect();
    assert_eq!(types, BTreeSet::from([SBOM, PROVENANCE]));
    assert_eq!(referrers.len(), 2, "one of each");
    let mut subject = index.clone();
    subject.as_object_mut().unwrap().remove("annotations");
    for referrer in referrers {
        let digest = referrer["digest"].as_str().unwrap();
        let manifest = json(&oras(&["manifest", "fetch", "--oci-layout", &at(digest)]));
        let document = check_artifact(&manifest, &subject, &at);
        match referrer["artifactType"].as_str().unwrap() {
            SBOM => check_release_sbom(&document),
            _ => check_release_provenance(&document, &index),
        }
    }
}

fn check_release_sbom(sbom: &Value) {
    let components = sbom["components"].as_array().unwrap();
    for (platform, file, _) in PLATFORMS {
        let binary = repo::path(&format!("bin/pause-linux-{file}"));
        let listed = components.iter().find(|c| {
            c["type"] == "file" && c["properties"][0]["value"] == platform && c["name"] == "/pause"
        });
        let listed = listed.unwrap_or_else(|| panic!("no /pause for {platform}"));
        assert_eq!(
            listed["hashes"][0]["content"],
            sha256(&binary),
            "{platform}"
        );
    }
    let files = components.iter().filter(|c| c["type"] == "file").count();
    assert_eq!(files, PLATFORMS.len(), "one file per platform");
    check_package_urls(components, "the release");
}

fn check_release_provenance(statement: &Value, index: &Value) {
    let digest = index["digest"].as_str().unwrap();
    assert_eq!(
        statement["subject"][0]["digest"]["sha256"],
        digest.strip_prefix("sha256:").unwrap(),
        "the index is the subject"
    );
    for (platform, file, target) in PLATFORMS {
        let binary = repo::path(&format!("bin/pause-linux-{file}"));
        let name = format!("{platform}/pause");
        let subjects = statement["subject"].as_array().unwrap();
        let entry = subjects.iter().find(|s| s["name"] == name.as_str());
        let entry = entry.unwrap_or_else(|| panic!("no subject {name}"));
        assert_eq!(entry["digest"]["sha256"], sha256(&binary), "{name}");
        let platforms =
            &statement["predicate"]["buildDefinition"]["externalParameters"]["platforms"];
        assert_eq!(platforms[platform], target, "{platform}");
    }
    check_build_type(statement);
}

/// syft reads files, not referrers: in the image's one file, a static
/// binary with no package metadata (no cargo-auditable section, no package
/// database), it finds nothing. Given the release SBOM, its CycloneDX reader
/// lists pause, and `core` at the toolchain's version.
#[test]
fn syft_finds_no_package_in_the_archive_but_reads_the_release_sbom() {
    let Some(archive) = archive() else { return };
    let syft = repo::go_tool("syft");
    if !require(syft.is_file(), "syft (make deps-go GO_TOOLS=syft)") {
        return;
    }
    let offline = |c: &mut Command| {
        c.env("SYFT_CHECK_FOR_APP_UPDATE", "false");
    };
    let mut scan = Command::new(&syft);
    scan.args(["scan", "-q", "-o", "json"])
        .arg(format!("oci-archive:{}", archive.display()));
    offline(&mut scan);
    let found = json(&run(scan).check().out.stdout);
    assert_eq!(
        found["artifacts"].as_array().map(Vec::len),
        Some(0),
        "syft found packages in the image: {}",
        found["artifacts"]
    );

    let index = pause_e2e::layout::image_index(&archive);
    let documents = pause_e2e::layout::referrers_of(&archive, index["digest"].as_str().unwrap());
    let (_, sbom) = documents
        .iter()
        .find(|(t, _)| t == SBOM)
        .expect("the release SBOM");
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("release.cdx.json");
    std::fs::write(&file, sbom).unwrap();
    let mut convert = Command::new(&syft);
    convert
        .args(["convert", "-q", "-o", "syft-json"])
        .arg(&file);
    offline(&mut convert);
    let read = json(&run(convert).check().out.stdout);
    let purls: BTreeSet<&str> = read["artifacts"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|a| a["purl"].as_str())
        .collect();
    let version = repo::version();
    for purl in [
        format!("pkg:cargo/pause@{version}"),
        format!("pkg:cargo/core@{}", rust_release()),
    ] {
        assert!(
            purls.contains(purl.as_str()),
            "syft lists no {purl}: {purls:?}"
        );
    }
}
