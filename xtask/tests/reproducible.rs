//! The archive is a function of its inputs only, and it is a well-formed OCI
//! image layout whose images run the binary as /pause, uid 65535.

use flate2::read::GzDecoder;
use serde_json::Value;
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::io::Read;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, SystemTime};

/// The packer's inputs as `oci` passes them, each with the platform the index
/// must list it under: plain `arm` is arm/v7 and plain `arm64` arm64/v8.
const ARCHES: [(&str, &str); 8] = [
    ("amd64", "amd64"),
    ("arm64", "arm64/v8"),
    ("arm", "arm/v7"),
    ("ppc64le", "ppc64le"),
    ("s390x", "s390x"),
    ("riscv64", "riscv64"),
    ("loong64", "loong64"),
    ("arm/v6", "arm/v6"),
];
const EPOCH: i64 = 1_700_000_000;

fn labels() -> Vec<(&'static str, &'static str)> {
    vec![
        ("org.opencontainers.image.title", "pause"),
        ("org.opencontainers.image.description", "Pod sandbox"),
        (
            "org.opencontainers.image.source",
            "https://example.invalid/pause",
        ),
        ("org.opencontainers.image.version", "0.1.0"),
        ("org.opencontainers.image.revision", "0123456789abcdef"),
        ("org.opencontainers.image.licenses", "Apache-2.0"),
    ]
}

/// Fake per-architecture binaries: distinct contents, so each platform has its own layer.
fn binary(arch: &str) -> Vec<u8> {
    let mut b = b"\x7fELF fake pause for ".to_vec();
    b.extend_from_slice(arch.as_bytes());
    b.extend((0..3000u32).map(|i| (i * 7 % 251) as u8));
    b
}

/// Writes the inputs into `dir` with the given file mode and mtime (which must
/// not leak into the archive), runs the packer (`xtask pack`) there and
/// returns (bytes, stdout).
fn pack_in(dir: &Path, mode: u32, mtime: SystemTime) -> (Vec<u8>, String) {
    std::fs::create_dir_all(dir.join("bin")).unwrap();
    let mut args = vec![
        "pack".to_string(),
        "--out".into(),
        "bin/pause-oci.tar".into(),
        "--tag".into(),
        "0.1.0".into(),
        "--epoch".into(),
        EPOCH.to_string(),
    ];
    for (k, v) in labels() {
        args.push("--label".into());
        args.push(format!("{k}={v}"));
    }
    for (a, name) in write_binaries(dir, mode, mtime) {
        args.push(format!("{a}={name}"));
    }
    let out = Command::new(env!("CARGO_BIN_EXE_xtask"))
        .args(&args)
        .current_dir(dir)
        .env_remove("SOURCE_DATE_EPOCH")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "xtask pack failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let bytes = std::fs::read(dir.join("bin/pause-oci.tar")).unwrap();
    (bytes, String::from_utf8(out.stdout).unwrap())
}

/// Writes each fake binary as `bin/pause-linux-<arch>` with the given mode
/// and mtime; returns (arch, relative path) pairs.
fn write_binaries(dir: &Path, mode: u32, mtime: SystemTime) -> Vec<(&'static str, String)> {
    std::fs::create_dir_all(dir.join("bin")).unwrap();
    let mut written = Vec::new();
    for (a, _) in ARCHES {
        let name = format!("bin/pause-linux-{}", a.replace('/', "-"));
        let f = dir.join(&name);
        std::fs::write(&f, binary(a)).unwrap();
        std::fs::set_permissions(&f, std::fs::Permissions::from_mode(mode)).unwrap();
        std::fs::File::options()
            .write(true)
            .open(&f)
            .unwrap()
            .set_modified(mtime)
            .unwrap();
        written.push((a, name));
    }
    written
}

/// `xtask oci` on the fake binaries in `dir`, every project fact given by a
/// flag but the ones it reads from this checkout (Cargo.lock, link.ld,
/// rustc): the archive with each image's SBOM and provenance.
fn oci_in(dir: &Path, source: &str, mode: u32, mtime: SystemTime) -> Vec<u8> {
    write_binaries(dir, mode, mtime);
    let epoch = EPOCH.to_string();
    let out = Command::new(env!("CARGO_BIN_EXE_xtask"))
        .args([
            "oci",
            "--bin-dir",
            "bin",
            "--out",
            "out.tar",
            "--epoch",
            &epoch,
        ])
        .args(["--source", source, "--revision", "0123456789abcdef"])
        .current_dir(dir)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "xtask oci failed: {stderr}");
    std::fs::read(dir.join("out.tar")).unwrap()
}

fn sha256(data: &[u8]) -> String {
    format!("sha256:{:x}", Sha256::digest(data))
}

/// The archive's files by path, checking each entry's metadata on the way.
fn entries(archive: &[u8]) -> Vec<(String, tar::Header, Vec<u8>)> {
    let mut a = tar::Archive::new(archive);
    let mut out = Vec::new();
    for e in a.entries().unwrap() {
        let mut e = e.unwrap();
        let path = e.path().unwrap().to_string_lossy().into_owned();
        let h = e.header().clone();
        let mut data = Vec::new();
        e.read_to_end(&mut data).unwrap();
        out.push((path, h, data));
    }
    out
}

fn blob(files: &BTreeMap<String, Vec<u8>>, digest: &str) -> Vec<u8> {
    let hex = digest.strip_prefix("sha256:").expect("sha256 digest");
    let data = files
        .get(&format!("blobs/sha256/{hex}"))
        .unwrap_or_else(|| panic!("blob {digest} missing"))
        .clone();
    assert_eq!(
        sha256(&data),
        digest,
        "blob content does not match its name"
    );
    data
}

fn json(data: &[u8]) -> Value {
    serde_json::from_slice(data).unwrap()
}

#[test]
fn two_builds_in_different_places_are_byte_identical() {
    let a = tempfile::tempdir().unwrap();
    let b = tempfile::tempdir().unwrap();
    let now = SystemTime::now();
    let (bytes_a, out_a) = pack_in(&a.path().join("one"), 0o755, now);
    let (bytes_b, out_b) = pack_in(
        &b.path().join("second/clone"),
        0o700,
        now - Duration::from_secs(86_400 * 400),
    );
    assert_eq!(sha256(&bytes_a), sha256(&bytes_b), "archives differ");
    assert!(bytes_a == bytes_b);
    // The printed index digest is the same, and it is the digest of the index
    // blob that index.json points to.
    let digest = |out: &str| out.split_whitespace().nth(1).unwrap().to_string();
    assert_eq!(digest(&out_a), digest(&out_b));
    let files: BTreeMap<_, _> = entries(&bytes_a)
        .into_iter()
        .map(|(p, _, d)| (p, d))
        .collect();
    let top = json(&files["index.json"]);
    assert_eq!(top["manifests"][0]["digest"], digest(&out_a));
}

#[test]
fn inputs_change_the_digest() {
    let d = tempfile::tempdir().unwrap();
    let (base, _) = pack_in(&d.path().join("a"), 0o755, SystemTime::now());
    // Another epoch: every timestamp moves, so the bytes do too.
    let dir = d.path().join("a");
    let out = Command::new(env!("CARGO_BIN_EXE_xtask"))
        .args(["pack", "--out", "other.tar", "amd64=bin/pause-linux-amd64"])
        .current_dir(&dir)
        .env("SOURCE_DATE_EPOCH", (EPOCH + 1).to_string())
        .output()
        .unwrap();
    assert!(out.status.success());
    let other = std::fs::read(dir.join("other.tar")).unwrap();
    assert_ne!(sha256(&base), sha256(&other));
    // Without an epoch the packer refuses rather than using the clock.
    let out = Command::new(env!("CARGO_BIN_EXE_xtask"))
        .args(["pack", "--out", "none.tar", "amd64=bin/pause-linux-amd64"])
        .current_dir(&dir)
        .env_remove("SOURCE_DATE_EPOCH")
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(!dir.join("none.tar").exists());
}

#[test]
fn archive_is_an_oci_layout_with_one_index_of_eight_platforms() {
    let d = tempfile::tempdir().unwrap();
    let (bytes, _) = pack_in(d.path(), 0o755, SystemTime::now());
    let files = sorted_root_owned_entries(&bytes);
    assert_eq!(json(&files["oci-layout"])["imageLayoutVersion"], "1.0.0");

    let index = json(&blob(&files, &top_index_digest(&files)));
    let mut platforms: Vec<String> = index["manifests"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| check_platform_image(&files, m))
        .collect();
    platforms.sort();
    assert_eq!(
        platforms,
        [
            "amd64", "arm/v6", "arm/v7", "arm64/v8", "loong64", "ppc64le", "riscv64", "s390x"
        ]
    );
}

/// Entries sorted, root-owned, every timestamp the epoch; returns them by path.
fn sorted_root_owned_entries(archive: &[u8]) -> BTreeMap<String, Vec<u8>> {
    let list = entries(archive);
    let paths: Vec<&str> = list.iter().map(|(p, _, _)| p.as_str()).collect();
    let mut sorted = paths.clone();
    sorted.sort();
    assert_eq!(paths, sorted, "archive entries are not sorted");
    for (p, h, _) in &list {
        assert_eq!(h.mtime().unwrap(), EPOCH as u64, "{p} mtime");
        assert_eq!((h.uid().unwrap(), h.gid().unwrap()), (0, 0), "{p} owner");
    }
    list.into_iter().map(|(p, _, d)| (p, d)).collect()
}

/// index.json names exactly one image index, by tag and by containerd's name.
fn top_index_digest(files: &BTreeMap<String, Vec<u8>>) -> String {
    let top = json(&files["index.json"]);
    assert_eq!(top["schemaVersion"], 2);
    let tops = top["manifests"].as_array().unwrap();
    assert_eq!(tops.len(), 1, "index.json names exactly one image");
    assert_eq!(
        tops[0]["mediaType"],
        "application/vnd.oci.image.index.v1+json"
    );
    assert_eq!(
        tops[0]["annotations"]["org.opencontainers.image.ref.name"],
        "0.1.0"
    );
    assert_eq!(
        tops[0]["annotations"]["io.containerd.image.name"],
        "localhost/pause:0.1.0"
    );
    tops[0]["digest"].as_str().unwrap().to_string()
}

/// One entry of the image index: its manifest, config and layer agree, and
/// the layer holds that platform's binary alone. Returns `arch[/variant]`.
fn check_platform_image(files: &BTreeMap<String, Vec<u8>>, m: &Value) -> String {
    assert_eq!(m["mediaType"], "application/vnd.oci.image.manifest.v1+json");
    let p = &m["platform"];
    assert_eq!(p["os"], "linux");
    let arch = p["architecture"].as_str().unwrap().to_string();
    let variant = p["variant"].as_str().map(str::to_string);
    let manifest_bytes = blob(files, m["digest"].as_str().unwrap());
    assert_eq!(m["size"], manifest_bytes.len());
    let manifest = json(&manifest_bytes);

    let config = json(&blob(files, manifest["config"]["digest"].as_str().unwrap()));
    check_config(&config, &arch, &variant);

    let layers = manifest["layers"].as_array().unwrap();
    assert_eq!(layers.len(), 1);
    assert_eq!(
        layers[0]["mediaType"],
        "application/vnd.oci.image.layer.v1.tar+gzip"
    );
    let tar_bytes = gunzip_layer(&blob(files, layers[0]["digest"].as_str().unwrap()));
    assert_eq!(config["rootfs"]["diff_ids"][0], sha256(&tar_bytes));
    let platform = match variant {
        Some(v) => format!("{arch}/{v}"),
        None => arch,
    };
    let (input, _) = ARCHES
        .iter()
        .find(|(_, p)| *p == platform)
        .unwrap_or_else(|| panic!("unexpected platform {platform}"));
    check_layer(&tar_bytes, input);
    platform
}

fn check_config(config: &Value, arch: &str, variant: &Option<String>) {
    assert_eq!(config["architecture"], arch);
    assert_eq!(config["os"], "linux");
    assert_eq!(config["variant"].as_str().map(str::to_string), *variant);
    assert_eq!(config["config"]["User"], "65535:65535");
    assert_eq!(
        config["config"]["Entrypoint"],
        serde_json::json!(["/pause"])
    );
    for (k, v) in labels() {
        assert_eq!(config["config"]["Labels"][k], v, "label {k}");
    }
    assert_eq!(config["created"], "2023-11-14T22:13:20Z");
}

/// The layer's gzip header carries no name and no time, so the bytes depend
/// only on the content.
fn gunzip_layer(gz: &[u8]) -> Vec<u8> {
    assert_eq!(&gz[..3], &[0x1f, 0x8b, 8]);
    assert_eq!(gz[3] & 0x08, 0, "gzip header carries a file name");
    assert_eq!(&gz[4..8], &[0, 0, 0, 0], "gzip header carries a time");
    let mut tar_bytes = Vec::new();
    GzDecoder::new(gz).read_to_end(&mut tar_bytes).unwrap();
    tar_bytes
}

fn check_layer(tar_bytes: &[u8], arch: &str) {
    let layer = entries(tar_bytes);
    assert_eq!(layer.len(), 1, "the layer holds only /pause");
    let (path, h, data) = &layer[0];
    assert_eq!(path, "pause");
    assert_eq!(h.mode().unwrap(), 0o755);
    assert_eq!((h.uid().unwrap(), h.gid().unwrap()), (0, 0));
    assert_eq!(h.mtime().unwrap(), EPOCH as u64);
    assert_eq!(data, &binary(arch), "layer of {arch} holds another binary");
}

#[test]
fn sbom_and_provenance_are_reproducible_and_name_no_host_path() {
    let a = tempfile::tempdir().unwrap();
    let b = tempfile::tempdir().unwrap();
    let url = "https://example.invalid/pause";
    let now = SystemTime::now();
    let bytes_a = oci_in(&a.path().join("one"), url, 0o755, now);
    let bytes_b = oci_in(
        &b.path().join("two/clone"),
        url,
        0o700,
        now - Duration::from_secs(86_400),
    );
    assert!(bytes_a == bytes_b, "archives with referrers differ");

    let files: BTreeMap<_, _> = entries(&bytes_a)
        .into_iter()
        .map(|(p, _, d)| (p, d))
        .collect();
    let top = json(&files["index.json"]);
    let types: Vec<&str> = top["manifests"].as_array().unwrap()[1..]
        .iter()
        .map(|m| m["artifactType"].as_str().unwrap())
        .collect();
    assert_eq!(
        types.len(),
        2 * (ARCHES.len() + 1),
        "an SBOM and a provenance per image, and for the index"
    );
    for (path, data) in &files {
        let text = String::from_utf8_lossy(data);
        for host in [
            a.path(),
            b.path(),
            Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap(),
        ] {
            let host = host.to_str().unwrap();
            assert!(!text.contains(host), "{path} names the host path {host}");
        }
    }
}

#[test]
fn a_local_source_path_never_reaches_the_provenance() {
    let d = tempfile::tempdir().unwrap();
    let local = d.path().join("checkout");
    // Given as the source, a path is refused with a reason...
    write_binaries(&local, 0o755, SystemTime::now());
    let refused = Command::new(env!("CARGO_BIN_EXE_xtask"))
        .args(["oci", "--bin-dir", "bin", "--out", "out.tar", "--source"])
        .arg(&local)
        .current_dir(&local)
        .output()
        .unwrap();
    assert_eq!(
        refused.status.code(),
        Some(2),
        "a local path accepted as source"
    );
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert!(stderr.contains("is not an http(s) URL"), "{stderr}");
    // ...and with no source (empty: what a clone of a directory gets), the
    // provenance names none.
    let bytes = oci_in(&local, "", 0o755, SystemTime::now());
    let files: BTreeMap<_, _> = entries(&bytes)
        .into_iter()
        .map(|(p, _, d)| (p, d))
        .collect();
    let statements: Vec<Value> = files
        .values()
        .filter_map(|d| serde_json::from_slice::<Value>(d).ok())
        .filter(|v| v["_type"] == "https://in-toto.io/Statement/v1")
        .collect();
    assert_eq!(
        statements.len(),
        ARCHES.len() + 1,
        "one per image and the index's"
    );
    for statement in statements {
        let text = statement.to_string();
        assert!(!text.contains(local.to_str().unwrap()), "{text}");
        assert!(
            statement["predicate"]["buildDefinition"]["externalParameters"]["source"].is_null()
        );
    }
}

/// Every provenance statement names, as its build type, a page of this
/// repository that describes each parameter the statement carries, and, as
/// its builder, the xtask crate and the command that runs it again.
#[test]
fn the_build_type_is_a_page_here_that_names_every_parameter() {
    let d = tempfile::tempdir().unwrap();
    let bytes = oci_in(&d.path().join("checkout"), "", 0o755, SystemTime::now());
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap();
    let statements: Vec<Value> = entries(&bytes)
        .into_iter()
        .filter_map(|(_, _, data)| serde_json::from_slice::<Value>(&data).ok())
        .filter(|v| v["_type"] == "https://in-toto.io/Statement/v1")
        .collect();
    assert_eq!(statements.len(), ARCHES.len() + 1);
    for statement in &statements {
        let build = &statement["predicate"]["buildDefinition"];
        let build_type = build["buildType"].as_str().unwrap();
        let page = build_type
            .strip_prefix("pkg:cargo/pause@")
            .and_then(|rest| rest.split_once('#'))
            .map(|(_version, page)| page)
            .unwrap_or_else(|| panic!("build type {build_type}"));
        let text = std::fs::read_to_string(root.join(page))
            .unwrap_or_else(|e| panic!("{build_type}: {page}: {e}"));
        for part in ["externalParameters", "internalParameters"] {
            for key in build[part].as_object().unwrap().keys() {
                assert!(
                    text.contains(&format!("`{key}`")),
                    "{page} does not describe {part}.{key}"
                );
            }
        }
        assert!(
            text.contains("make oci-repro"),
            "{page} says how it is reproduced"
        );
        let builder = statement["predicate"]["runDetails"]["builder"]["id"]
            .as_str()
            .unwrap();
        let expected = format!(
            "pkg:cargo/xtask@{}?rerun=make%20oci#xtask",
            env!("CARGO_PKG_VERSION")
        );
        assert_eq!(builder, expected);
        assert!(root.join("xtask/Cargo.toml").is_file());
    }
}

/// `pack --attach` hangs each given document on the image index as an OCI
/// 1.1 referrer: its artifact type, its bytes as the one layer, the index as
/// its subject; without it, pack attaches nothing.
#[test]
fn pack_attaches_the_documents_it_is_given_to_the_index() {
    let d = tempfile::tempdir().unwrap();
    let dir = d.path();
    write_binaries(dir, 0o755, SystemTime::now());
    let sbom = br#"{"bomFormat":"CycloneDX","specVersion":"1.5"}"#;
    std::fs::write(dir.join("their.cdx.json"), sbom).unwrap();
    let pack = |out: &str, extra: &[&str]| {
        let status = Command::new(env!("CARGO_BIN_EXE_xtask"))
            .args(["pack", "--out", out, "--epoch", &EPOCH.to_string()])
            .args(extra)
            .arg("amd64=bin/pause-linux-amd64")
            .current_dir(dir)
            .status()
            .unwrap();
        assert!(status.success());
        sorted_root_owned_entries(&std::fs::read(dir.join(out)).unwrap())
    };
    let cyclonedx = "application/vnd.cyclonedx+json";
    let files = pack(
        "with.tar",
        &["--attach", &format!("{cyclonedx}=their.cdx.json")],
    );
    let top = json(&files["index.json"]);
    let referrers: Vec<&Value> = top["manifests"].as_array().unwrap()[1..].iter().collect();
    assert_eq!(referrers.len(), 1);
    assert_eq!(referrers[0]["artifactType"], cyclonedx);
    let manifest = json(&blob(&files, referrers[0]["digest"].as_str().unwrap()));
    assert_eq!(manifest["subject"]["digest"], top["manifests"][0]["digest"]);
    assert_eq!(manifest["layers"][0]["mediaType"], cyclonedx);
    assert_eq!(
        manifest["layers"][0]["annotations"]["org.opencontainers.image.title"],
        "their.cdx.json"
    );
    assert_eq!(
        blob(&files, manifest["layers"][0]["digest"].as_str().unwrap()),
        sbom
    );

    let bare = pack("without.tar", &[]);
    assert_eq!(
        json(&bare["index.json"])["manifests"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
}
