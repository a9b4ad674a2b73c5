//! The archive as users get it from a registry, checked with the tools they
//! run: `make push` publishes bin/pause-oci.tar (xtask/scripts/push.sh), `make
//! sign` signs it and attests each platform's SBOM and provenance with cosign
//! (xtask/scripts/sign.sh, offline: TLOG=0), `oras discover` lists what is
//! attached, `cosign verify` and `cosign verify-attestation` check it, and
//! containerd pulls each platform's own binary.
//!
//! Each test has its own Debian docker-registry in a loopback-only network
//! namespace. Needs root, docker-registry and jq (`make deps`), oras and
//! cosign (`make deps-pinned`), containerd 2.1 for the platform test, and the
//! archive (`make oci`): `make test-e2e-containerd` provides all of them.
//! Outside CI a missing requirement skips; in CI it fails.

use pause_e2e::layout;
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::Command;
use test_support::ci::require;
use test_support::command::{Run, run};
use test_support::cri::{Containerd, Dialect, Node, can_run_on, pack_workload};
use test_support::registry::{self, Registry};
use test_support::repo;

const CYCLONEDX: &str = "application/vnd.cyclonedx+json";
const IN_TOTO: &str = "application/vnd.in-toto+json";

/// A registry with the archive pushed to it, and where the image went.
struct Published {
    registry: Registry,
    archive: PathBuf,
    /// `host:port/path` of the image, without tag or digest.
    repository: String,
    tag: String,
}

fn publish() -> Option<Published> {
    publish_archive(repo::built_pause_archive())
}

/// `archive` pushed to a registry of its own.
fn publish_archive(archive: PathBuf) -> Option<Published> {
    if !require(
        registry::missing().is_none(),
        &registry::missing().unwrap_or_default(),
    ) {
        return None;
    }
    let registry = Registry::start_isolated();
    registry.push(&archive);
    let index = layout::image_index(&archive);
    let name = index["annotations"]["io.containerd.image.name"]
        .as_str()
        .unwrap();
    let tag = index["annotations"]["org.opencontainers.image.ref.name"]
        .as_str()
        .unwrap();
    // As push.sh places it: the name without its registry host.
    let path = name
        .trim_end_matches(&format!(":{tag}"))
        .split_once('/')
        .unwrap()
        .1;
    let repository = format!("{}/{path}", registry.host());
    Some(Published {
        registry,
        archive,
        repository,
        tag: tag.into(),
    })
}

impl Published {
    /// A pinned tool (oras, cosign) run inside the registry's namespace.
    fn tool(&self, name: &str, args: &[&str]) -> Command {
        self.tool_at(&repo::pinned(name), args)
    }

    /// The program at `path` run inside the registry's namespace.
    fn tool_at(&self, path: &Path, args: &[&str]) -> Command {
        let mut c = self.registry.netns().command(path);
        c.args(args);
        c
    }

    fn index_digest(&self) -> String {
        layout::image_index(&self.archive)["digest"]
            .as_str()
            .unwrap()
            .into()
    }

    /// `oras discover`: the artifact types attached to `digest`, with the
    /// digest of each referrer manifest.
    fn discover(&self, digest: &str) -> Vec<(String, String)> {
        let reference = format!("{}@{digest}", self.repository);
        let out = run(self.tool(
            "oras",
            &["discover", "--plain-http", "--format", "json", &reference],
        ))
        .check();
        let found: Value =
            serde_json::from_str(&out.stdout()).expect("oras discover --format json");
        found["referrers"]
            .as_array()
            .map(|refs| {
                refs.iter()
                    .map(|r| {
                        (
                            r["artifactType"].as_str().unwrap_or_default().into(),
                            r["digest"].as_str().unwrap().into(),
                        )
                    })
                    .collect()
            })
            .unwrap_or_default()
    }

    /// `oras pull` of a referrer into a fresh directory: the one file it wrote.
    fn pull_document(&self, referrer: &str) -> Vec<u8> {
        let out = tempfile::tempdir().unwrap();
        let reference = format!("{}@{referrer}", self.repository);
        let dir = out.path().to_str().unwrap();
        run(self.tool("oras", &["pull", "--plain-http", "-o", dir, &reference])).check();
        let files: Vec<_> = std::fs::read_dir(out.path())
            .unwrap()
            .map(|e| e.unwrap().path())
            .collect();
        assert_eq!(files.len(), 1, "oras pull wrote {files:?}");
        std::fs::read(&files[0]).unwrap()
    }

    /// `cosign ARGS`, the registry spoken to over plain HTTP, no
    /// transparency log consulted (none is reachable).
    fn cosign(&self, args: &[&str]) -> Run {
        let mut c = self.tool("cosign", args);
        c.args(["--allow-http-registry", "--insecure-ignore-tlog=true"]);
        run(c)
    }
}

/// Two throwaway cosign key pairs in `dir`: `good.*` signs, `other.*` must
/// not verify.
fn key_pairs(dir: &Path) {
    for prefix in ["good", "other"] {
        let mut c = Command::new(repo::pinned("cosign"));
        c.args(["generate-key-pair", "--output-key-prefix", prefix])
            .current_dir(dir)
            .env("COSIGN_PASSWORD", "");
        run(c).check();
    }
}

#[test]
fn oras_discover_lists_each_platforms_and_the_indexs_sbom_and_provenance_as_in_the_archive() {
    let Some(p) = publish() else { return };
    let mut platforms = layout::platform_manifests(&p.archive);
    assert_eq!(platforms.len(), 8, "{platforms:?}");
    platforms.push(("the index".into(), p.index_digest()));
    for (platform, digest) in &platforms {
        let attached = p.discover(digest);
        let archived = layout::referrers_of(&p.archive, digest);
        for kind in [CYCLONEDX, IN_TOTO] {
            let (_, referrer) = attached.iter().find(|(t, _)| t == kind).unwrap_or_else(|| {
                panic!("{platform}: oras discover lists no {kind}: {attached:?}")
            });
            let (_, document) = archived
                .iter()
                .find(|(t, _)| t == kind)
                .expect("the archive attaches it");
            assert!(
                p.pull_document(referrer) == *document,
                "{platform}: the {kind} read back from the registry differs from the archive's"
            );
        }
    }
}

#[test]
fn a_signed_index_verifies_and_a_wrong_key_or_another_image_under_the_tag_does_not() {
    let Some(p) = publish() else { return };
    let keys = tempfile::tempdir().unwrap();
    key_pairs(keys.path());
    let key = keys.path().join("good.key");
    let mut sign = p
        .registry
        .netns()
        .command(repo::path("xtask/scripts/sign.sh"));
    sign.arg(&p.archive).arg(p.registry.host()).arg(&key);
    sign.env("TLOG", "0").env("COSIGN_PASSWORD", "");
    run(sign).check();

    let good = keys.path().join("good.pub");
    let other = keys.path().join("other.pub");
    let by_tag = format!("{}:{}", p.repository, p.tag);
    let verified = p
        .cosign(&["verify", "--key", good.to_str().unwrap(), &by_tag])
        .check();
    let claims: Value =
        serde_json::from_str(verified.stdout().trim()).expect("cosign verify prints JSON");
    assert_eq!(
        claims[0]["critical"]["image"]["docker-manifest-digest"],
        p.index_digest().as_str(),
        "the signature is for the archive's index"
    );
    let wrong = p.cosign(&["verify", "--key", other.to_str().unwrap(), &by_tag]);
    eprintln!("wrong key, as cosign reports it: {}", wrong.stderr().trim());
    assert!(
        !wrong.ok(),
        "a signature verified with a key that did not make it"
    );
    // Before the tag moves: the index's attestations are asked for by it.
    verify_attestations(&p, &good, &other);

    // Another image under the same tag, which nobody signed: the test
    // workload's image pushed over it.
    let other_image = pack_workload(keys.path());
    let from = format!("{}:test", other_image.archive.display());
    let args = [
        "cp",
        "--no-tty",
        "--from-oci-layout",
        &from,
        "--to-plain-http",
        &by_tag,
    ];
    run(p.tool("oras", &args)).check();
    let swapped = p.cosign(&["verify", "--key", good.to_str().unwrap(), &by_tag]);
    eprintln!(
        "another image under the tag, as cosign reports it: {}",
        swapped.stderr().trim()
    );
    assert!(
        !swapped.ok(),
        "an unsigned image under the signed tag verified"
    );
}

/// Every platform's SBOM and provenance attestation, and the index's (asked
/// for by the tag, as a user does), verifies with the key that made it, and
/// carries the very documents of the archive.
fn verify_attestations(p: &Published, good: &Path, other: &Path) {
    let mut subjects: Vec<(String, String, String)> = layout::platform_manifests(&p.archive)
        .into_iter()
        .map(|(platform, digest)| {
            let reference = format!("{}@{digest}", p.repository);
            (platform, digest, reference)
        })
        .collect();
    let by_tag = format!("{}:{}", p.repository, p.tag);
    subjects.push(("the index".into(), p.index_digest(), by_tag));
    for (platform, digest, reference) in subjects {
        let archived = layout::referrers_of(&p.archive, &digest);
        for (kind, cosign_type) in [(CYCLONEDX, "cyclonedx"), (IN_TOTO, "slsaprovenance1")] {
            let args = ["verify-attestation", "--type", cosign_type, "--key"];
            let out = p
                .cosign(&[&args[..], &[good.to_str().unwrap(), &reference]].concat())
                .check();
            let statement = attested_statement(&out.stdout());
            assert_eq!(
                statement["subject"][0]["digest"]["sha256"],
                digest.trim_start_matches("sha256:"),
                "{platform}"
            );
            let (_, document) = archived.iter().find(|(t, _)| t == kind).unwrap();
            let document: Value = serde_json::from_slice(document).unwrap();
            let expected = if kind == IN_TOTO {
                &document["predicate"]
            } else {
                &document
            };
            assert_eq!(
                &statement["predicate"], expected,
                "{platform}: the attested {cosign_type} is not the archive's"
            );
        }
    }
    let (_, digest) = &layout::platform_manifests(&p.archive)[0];
    let reference = format!("{}@{digest}", p.repository);
    let wrong = p.cosign(&[
        "verify-attestation",
        "--type",
        "cyclonedx",
        "--key",
        other.to_str().unwrap(),
        &reference,
    ]);
    assert!(
        !wrong.ok(),
        "an attestation verified with a key that did not make it"
    );
}

/// The in-toto statement of the first attestation `cosign verify-attestation` printed.
fn attested_statement(stdout: &str) -> Value {
    use base64::Engine as _;
    let envelope: Value =
        serde_json::from_str(stdout.lines().next().unwrap_or_default()).expect("an attestation");
    let payload = base64::engine::general_purpose::STANDARD
        .decode(envelope["payload"].as_str().unwrap())
        .unwrap();
    serde_json::from_slice(&payload).unwrap()
}

#[test]
fn containerd_pulls_each_platforms_own_binary_from_the_index() {
    let containerd = Containerd::new("2.1", Dialect::PinnedImagesV3);
    if !can_run_on(containerd) {
        return;
    }
    let Some(p) = publish() else { return };
    let node = Node::start_pulling_from(containerd, &p.registry);
    let reference = format!("{}:{}", p.repository, p.tag);
    let ctr = |args: &[&str]| {
        let mut c = p.registry.netns().command(containerd.binary("ctr"));
        c.arg("--address")
            .arg(&node.socket)
            .args(["-n", "platforms"])
            .args(args);
        c
    };
    for (platform, binary) in [
        ("linux/arm/v6", "arm-v6"),
        ("linux/arm/v7", "arm"),
        ("linux/loong64", "loong64"),
    ] {
        run(ctr(&[
            "images",
            "pull",
            "--plain-http",
            "--platform",
            platform,
            &reference,
        ]))
        .check();
        let exported = node.dir.path().join(format!("{binary}.tar"));
        // ctr writes the archive itself (--local): through containerd 2.1's
        // transfer service it twice exited 0 with the archive cut short
        // (7 kB, "tar: Unexpected EOF in archive"; loong64, then arm/v6).
        run(ctr(&[
            "images",
            "export",
            "--local",
            "--platform",
            platform,
            exported.to_str().unwrap(),
            &reference,
        ]))
        .check();
        let got = pause_from_export(&exported);
        let ours = std::fs::read(repo::path(&format!("bin/pause-linux-{binary}"))).unwrap();
        assert!(
            got == ours,
            "containerd's {platform} image holds another binary than bin/pause-linux-{binary}"
        );
        run(ctr(&["images", "rm", "--sync", &reference])).check();
    }
}

/// `/pause` from an image containerd exported for one platform: the one
/// platform manifest whose blobs the export holds, its layer unpacked.
fn pause_from_export(export: &Path) -> Vec<u8> {
    let index = layout::image_index(export);
    let manifests = layout::blob_json(export, index["digest"].as_str().unwrap());
    let present: Vec<Value> = manifests["manifests"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|m| {
            std::panic::catch_unwind(|| layout::blob_json(export, m["digest"].as_str().unwrap()))
                .ok()
        })
        .collect();
    assert_eq!(present.len(), 1, "the export holds one platform's manifest");
    let layer = layout::blob(export, present[0]["layers"][0]["digest"].as_str().unwrap());
    let mut files = tar::Archive::new(flate2::read::GzDecoder::new(&layer[..]));
    let mut entry = files
        .entries()
        .unwrap()
        .map(Result::unwrap)
        .find(|e| e.path().unwrap().to_str() == Some("pause"))
        .expect("the layer holds pause");
    let mut bytes = Vec::new();
    std::io::Read::read_to_end(&mut entry, &mut bytes).unwrap();
    bytes
}

/// Trivy (built from its Go module, `make deps-go`), as a user scans the
/// published image by the tag they type: the tag names the image index, so
/// Trivy looks for an SBOM among the index's referrers, whatever platform it
/// is asked for. It must find the release SBOM there and list pause with its
/// version, licence and package URL under the image's name. Negative
/// control: the same archive without the index's referrers (the platforms'
/// stay) gives Trivy no SBOM, and no pause.
#[test]
fn trivy_finds_the_sbom_by_tag_and_lists_pause_on_every_platform() {
    let trivy = repo::go_tool("trivy");
    if !require(trivy.is_file(), "trivy (make deps-go GO_TOOLS=trivy)") {
        return;
    }
    let Some(p) = publish() else { return };
    let by_tag = format!("{}:{}", p.repository, p.tag);
    let version = repo::version();
    let built_as = layout::image_index(&p.archive)["annotations"]["io.containerd.image.name"]
        .as_str()
        .unwrap()
        .to_string();
    for (platform, _) in layout::platform_manifests(&p.archive) {
        let scan = trivy_scan(&p, &trivy, &by_tag, &platform);
        assert!(
            scan.stderr().contains("Found SBOM in the OCI referrers"),
            "{platform}: {}",
            scan.describe()
        );
        let report: Value = serde_json::from_str(&scan.stdout()).expect("trivy --format json");
        let (target, pause) = trivy_package(&report, "pause")
            .unwrap_or_else(|| panic!("{platform}: Trivy lists no pause: {report}"));
        assert_eq!(target, built_as, "{platform}: the result's target");
        assert_eq!(pause["Version"], version.as_str(), "{platform}");
        assert_eq!(
            pause["Licenses"],
            serde_json::json!(["Apache-2.0"]),
            "{platform}"
        );
        assert_eq!(
            pause["Identifier"]["PURL"],
            format!("pkg:cargo/pause@{version}").as_str(),
            "{platform}"
        );
    }

    let bare = tempfile::tempdir().unwrap();
    let without = layout::without_referrers_of(
        &p.archive,
        &p.index_digest(),
        &bare.path().join("no-index-referrers.tar"),
    );
    let Some(q) = publish_archive(without) else {
        return;
    };
    let by_tag = format!("{}:{}", q.repository, q.tag);
    let scan = trivy_scan(&q, &trivy, &by_tag, "linux/amd64");
    let report: Value = serde_json::from_str(&scan.stdout()).expect("trivy --format json");
    assert!(
        !scan.stderr().contains("Found SBOM") && trivy_package(&report, "pause").is_none(),
        "without the index's referrers Trivy still found pause: {}",
        scan.describe()
    );
}

/// `trivy image` by `reference` for `platform`, from the registry's
/// loopback-only namespace: the SBOM from the referrers, licences only, no
/// database, no update or version check (nothing to reach: a try fails at
/// once instead of waiting), its cache in a directory of its own.
fn trivy_scan(p: &Published, trivy: &Path, reference: &str, platform: &str) -> Run {
    let cache = tempfile::tempdir().unwrap();
    let out = run(p.tool_at(
        trivy,
        &[
            "image",
            "--image-src",
            "remote",
            "--sbom-sources",
            "oci",
            "--scanners",
            "license",
            "--list-all-pkgs",
            "--skip-db-update",
            "--offline-scan",
            "--skip-version-check",
            "--disable-telemetry",
            "--timeout",
            "60s",
            "--cache-dir",
            cache.path().to_str().unwrap(),
            "--format",
            "json",
            "--platform",
            platform,
            reference,
        ],
    ));
    out.check()
}

/// The result target and the package `name` of a Trivy JSON report.
fn trivy_package(report: &Value, name: &str) -> Option<(String, Value)> {
    let results = report["Results"].as_array()?;
    results.iter().find_map(|r| {
        let packages = r["Packages"].as_array()?;
        let found = packages.iter().find(|p| p["Name"] == name)?;
        Some((r["Target"].as_str()?.to_string(), found.clone()))
    })
}
