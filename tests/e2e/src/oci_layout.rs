//! The suites' own images (test stand-ins, never the product: xtask packs
//! that): uncompressed tar layers built entry by entry, and an OCI layout tar
//! naming one linux image for this machine's architecture, with the
//! annotations xtask/scripts/push.sh reads its name and tag from.

use std::collections::BTreeMap;

/// One layer: a tar of directories, files and links, every time 0 and every
/// owner root, so that equal inputs give equal digests.
pub struct Layer(tar::Builder<Vec<u8>>);

impl Default for Layer {
    fn default() -> Self {
        Layer(tar::Builder::new(Vec::new()))
    }
}

impl Layer {
    fn header(kind: tar::EntryType, mode: u32, size: u64) -> tar::Header {
        let mut h = tar::Header::new_ustar();
        h.set_entry_type(kind);
        h.set_mode(mode);
        h.set_size(size);
        h.set_mtime(0);
        h.set_uid(0);
        h.set_gid(0);
        h
    }

    pub fn dir(&mut self, path: &str, mode: u32) -> &mut Self {
        let mut h = Self::header(tar::EntryType::Directory, mode, 0);
        self.0.append_data(&mut h, path, std::io::empty()).unwrap();
        self
    }

    pub fn file(&mut self, path: &str, mode: u32, data: &[u8]) -> &mut Self {
        let mut h = Self::header(tar::EntryType::Regular, mode, data.len() as u64);
        self.0.append_data(&mut h, path, data).unwrap();
        self
    }

    /// A hard link `path` to the layer's earlier entry `target` (no leading /).
    pub fn hard_link(&mut self, path: &str, target: &str) -> &mut Self {
        let mut h = Self::header(tar::EntryType::Link, 0o755, 0);
        self.0.append_link(&mut h, path, target).unwrap();
        self
    }

    pub fn symlink(&mut self, path: &str, target: &str) -> &mut Self {
        let mut h = Self::header(tar::EntryType::Symlink, 0o777, 0);
        self.0.append_link(&mut h, path, target).unwrap();
        self
    }

    pub fn finish(self) -> Vec<u8> {
        self.0.into_inner().unwrap()
    }
}

/// What an image's config says about running it.
#[derive(Clone, Debug, Default)]
pub struct RunConfig {
    pub user: String,
    pub entrypoint: Vec<String>,
    pub cmd: Vec<String>,
    pub env: Vec<String>,
}

/// An OCI layout tar holding one linux image named `name:tag` made of
/// `layers` (uncompressed tars, lowest first).
pub fn archive(name: &str, tag: &str, run: &RunConfig, layers: &[&[u8]]) -> Vec<u8> {
    let digest = |b: &[u8]| format!("sha256:{}", xtask::sha256_hex(b));
    let (arch, _) = xtask::platform_of(test_support::repo::host_arch()).unwrap();
    let mut process = serde_json::json!({
        "User": run.user,
        "Cmd": run.cmd,
        "Env": run.env,
        "WorkingDir": "/",
    });
    if !run.entrypoint.is_empty() {
        process["Entrypoint"] = serde_json::json!(run.entrypoint);
    }
    let config = serde_json::json!({
        "architecture": arch,
        "os": "linux",
        "config": process,
        "rootfs": {"type": "layers", "diff_ids": layers.iter().map(|l| digest(l)).collect::<Vec<_>>()},
    });
    let config = serde_json::to_vec(&config).unwrap();
    let layer_descriptors: Vec<_> = layers
        .iter()
        .map(|l| {
            serde_json::json!({"mediaType": "application/vnd.oci.image.layer.v1.tar",
                               "digest": digest(l), "size": l.len()})
        })
        .collect();
    let manifest = serde_json::json!({
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json",
                   "digest": digest(&config), "size": config.len()},
        "layers": layer_descriptors,
    });
    let manifest = serde_json::to_vec(&manifest).unwrap();
    let index = serde_json::json!({
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.index.v1+json",
        "manifests": [{
            "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "digest": digest(&manifest), "size": manifest.len(),
            "platform": {"architecture": arch, "os": "linux"},
            "annotations": BTreeMap::from([
                (xtask::CONTAINERD_IMAGE_NAME, format!("{name}:{tag}")),
                (xtask::REF_NAME, tag.to_string()),
            ]),
        }],
    });
    let mut out = Layer::default();
    out.file("oci-layout", 0o644, br#"{"imageLayoutVersion":"1.0.0"}"#);
    out.file("index.json", 0o644, &serde_json::to_vec(&index).unwrap());
    for blob in layers.iter().copied().chain([&config[..], &manifest[..]]) {
        out.file(
            &format!("blobs/sha256/{}", xtask::sha256_hex(blob)),
            0o644,
            blob,
        );
    }
    out.finish()
}

/// `archive` (an OCI layout tar, such as bin/pause-oci.tar) with the image
/// it names renamed to `name:tag`: every blob, and so the image's digest, as
/// it was; only the layout's own index.json changes.
pub fn renamed(archive: &[u8], name: &str, tag: &str) -> Vec<u8> {
    let mut out = Layer::default();
    let mut entries = tar::Archive::new(archive);
    for entry in entries.entries().expect("an OCI layout tar") {
        let mut entry = entry.expect("an OCI layout tar entry");
        let path = entry.path().unwrap().to_string_lossy().into_owned();
        let mut data = Vec::new();
        std::io::Read::read_to_end(&mut entry, &mut data).unwrap();
        if entry.header().entry_type().is_dir() {
            out.dir(&path, 0o755);
            continue;
        }
        if path.trim_start_matches("./") == "index.json" {
            data = renamed_index(&data, name, tag);
        }
        out.file(&path, 0o644, &data);
    }
    out.finish()
}

/// The index.json of a layout with the entry that names an image (the one
/// carrying containerd's name annotation) naming `name:tag` instead.
fn renamed_index(index: &[u8], name: &str, tag: &str) -> Vec<u8> {
    let mut index: serde_json::Value = serde_json::from_slice(index).expect("index.json");
    let named = index["manifests"]
        .as_array_mut()
        .expect("index.json lists manifests")
        .iter_mut()
        .find(|m| m["annotations"][xtask::CONTAINERD_IMAGE_NAME].is_string())
        .expect("index.json names an image");
    named["annotations"][xtask::CONTAINERD_IMAGE_NAME] = format!("{name}:{tag}").into();
    named["annotations"][xtask::REF_NAME] = tag.into();
    serde_json::to_vec(&index).unwrap()
}
