//! Reading bin/pause-oci.tar as an OCI image layout: its index.json and the
//! blobs it names, as the registry suites compare them with what a registry
//! serves.

use serde_json::Value;
use std::path::Path;
use std::process::Command;

/// A file of the archive, as bytes.
pub fn file(archive: &Path, name: &str) -> Vec<u8> {
    let mut tar = Command::new("tar");
    tar.arg("-xOf").arg(archive).arg(name);
    let out = tar.output().expect("tar");
    assert!(
        out.status.success(),
        "tar -xOf {} {name} failed ({} bytes): {}",
        archive.display(),
        std::fs::metadata(archive).map_or(0, |m| m.len()),
        String::from_utf8_lossy(&out.stderr).trim()
    );
    out.stdout
}

/// A JSON file of the archive.
pub fn json(archive: &Path, name: &str) -> Value {
    serde_json::from_slice(&file(archive, name)).unwrap_or_else(|e| panic!("{name}: {e}"))
}

/// The blob `sha256:HEX`, as bytes.
pub fn blob(archive: &Path, digest: &str) -> Vec<u8> {
    let hex = digest.strip_prefix("sha256:").expect("a sha256 digest");
    file(archive, &format!("blobs/sha256/{hex}"))
}

/// The blob `sha256:HEX`, parsed as JSON.
pub fn blob_json(archive: &Path, digest: &str) -> Value {
    serde_json::from_slice(&blob(archive, digest)).unwrap_or_else(|e| panic!("{digest}: {e}"))
}

/// The descriptor in index.json that names the image (the image index);
/// referrers sit beside it without a name.
pub fn image_index(archive: &Path) -> Value {
    let layout = json(archive, "index.json");
    let named = layout["manifests"].as_array().unwrap().iter();
    named
        .clone()
        .find(|m| m["annotations"]["io.containerd.image.name"].is_string())
        .cloned()
        .expect("index.json names an image")
}

/// The image index's platform manifests: (`os/arch[/variant]`, digest).
pub fn platform_manifests(archive: &Path) -> Vec<(String, String)> {
    let index = image_index(archive);
    let index = blob_json(archive, index["digest"].as_str().unwrap());
    index["manifests"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| (platform_of(m), m["digest"].as_str().unwrap().to_string()))
        .collect()
}

/// `os/arch[/variant]` of an image index entry.
pub fn platform_of(entry: &Value) -> String {
    let p = &entry["platform"];
    let mut name = format!(
        "{}/{}",
        p["os"].as_str().unwrap(),
        p["architecture"].as_str().unwrap()
    );
    if let Some(v) = p["variant"].as_str() {
        name = format!("{name}/{v}");
    }
    name
}

/// The documents the archive attaches to the image manifest `subject`, by
/// artifact type: (artifact type, the document's bytes).
pub fn referrers_of(archive: &Path, subject: &str) -> Vec<(String, Vec<u8>)> {
    let layout = json(archive, "index.json");
    let attached = layout["manifests"].as_array().unwrap().iter();
    attached
        .filter_map(|d| Some((d["artifactType"].as_str()?, d["digest"].as_str()?)))
        .filter_map(|(kind, digest)| {
            let manifest = blob_json(archive, digest);
            (manifest["subject"]["digest"] == subject).then(|| {
                let layer = manifest["layers"][0]["digest"]
                    .as_str()
                    .unwrap()
                    .to_string();
                (kind.to_string(), blob(archive, &layer))
            })
        })
        .collect()
}

/// A copy of `archive` at `out` whose index.json no longer lists the
/// referrers of `subject`: what a registry serves after they were deleted.
/// Their blobs stay, unreferenced, as in a registry before garbage collection.
pub fn without_referrers_of(archive: &Path, subject: &str, out: &Path) -> std::path::PathBuf {
    let dir = tempfile::tempdir().unwrap();
    let tar = |args: &[&std::ffi::OsStr]| {
        let status = Command::new("tar").args(args).status().expect("tar");
        assert!(status.success(), "tar {args:?} failed");
    };
    tar(&[
        "-xf".as_ref(),
        archive.as_os_str(),
        "-C".as_ref(),
        dir.path().as_os_str(),
    ]);
    let mut layout = json(archive, "index.json");
    let kept: Vec<Value> = layout["manifests"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|d| {
            d["artifactType"].is_null()
                || blob_json(archive, d["digest"].as_str().unwrap())["subject"]["digest"] != subject
        })
        .cloned()
        .collect();
    layout["manifests"] = Value::Array(kept);
    std::fs::write(dir.path().join("index.json"), layout.to_string()).unwrap();
    let entries = ["oci-layout", "index.json", "blobs"].map(std::ffi::OsStr::new);
    let to = [
        "-cf".as_ref(),
        out.as_os_str(),
        "-C".as_ref(),
        dir.path().as_os_str(),
    ];
    tar(&[&to[..], &entries[..]].concat());
    out.to_path_buf()
}
