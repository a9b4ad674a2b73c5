//! Image bytes: every peer packed by the project's own packer (`xtask`),
//! as the project packs itself: a one-file layer (a tar holding only the
//! binary, deterministic), that layer gzipped (what every node pulls) and a
//! whole OCI image-layout archive around it. The figures are read back from
//! the archive, as from the project's `make oci` output.

use crate::Peer;
use serde_json::Value;
use std::collections::BTreeMap;
use std::io::Read;
use std::path::Path;

#[derive(Debug, Clone, serde::Serialize)]
pub struct ImageBytes {
    pub layer_tar: u64,
    pub layer_gzip: u64,
    pub archive: u64,
}

/// Packs `peer`'s binary as /`image_name` in a one-image archive for `arch`,
/// with the peer's entrypoint, named `name:tag`.
pub fn pack(peer: &Peer, arch: &str, name: &str, tag: &str) -> Result<xtask::Built, String> {
    let opts = xtask::Options {
        epoch: 0,
        path: format!("/{}", peer.image_name),
        entrypoint: peer.entrypoint(),
        user: "65535:65535".into(),
        labels: BTreeMap::new(),
        name: name.into(),
        tag: tag.into(),
        tool: "pause-bench".into(),
    };
    let binary =
        std::fs::read(&peer.path).map_err(|e| format!("read {}: {e}", peer.path.display()))?;
    let input = xtask::Input {
        arch: arch.into(),
        binary,
        source_name: peer.key.clone(),
    };
    xtask::build(&opts, &[input]).map_err(|e| format!("pack: {e}"))
}

/// Packs `peer` (see [`pack`]); returns the figures and the archive bytes.
pub fn figures_of_peer(peer: &Peer, arch: &str) -> Result<(ImageBytes, Vec<u8>), String> {
    let built = pack(
        peer,
        arch,
        &format!("localhost/pause-bench/{}", peer.key),
        "bench",
    )?;
    let figures = figures(&built.archive, arch)?;
    Ok((figures, built.archive))
}

/// Reads the figures of an existing OCI image-layout archive (such as the
/// project's `make oci` output): the layer of the manifest for `arch`.
pub fn inspect_archive(path: &Path, arch: &str) -> Result<ImageBytes, String> {
    let bytes = std::fs::read(path).map_err(|e| format!("read {}: {e}", path.display()))?;
    figures(&bytes, arch)
}

/// The figures of an OCI image-layout archive's image for `arch`: its
/// layers as tars and gzipped, and the whole archive.
fn figures(bytes: &[u8], arch: &str) -> Result<ImageBytes, String> {
    let mut files = std::collections::HashMap::new();
    let mut ar = tar::Archive::new(bytes);
    for entry in ar.entries().map_err(|e| e.to_string())? {
        let mut entry = entry.map_err(|e| e.to_string())?;
        let name = entry
            .path()
            .map_err(|e| e.to_string())?
            .to_string_lossy()
            .trim_start_matches("./")
            .to_string();
        let mut data = Vec::new();
        entry.read_to_end(&mut data).map_err(|e| e.to_string())?;
        files.insert(name, data);
    }
    let blob = |digest: &str| -> Result<&Vec<u8>, String> {
        let hex = digest.strip_prefix("sha256:").ok_or("digest not sha256")?;
        files
            .get(&format!("blobs/sha256/{hex}"))
            .ok_or_else(|| format!("blob {digest} missing"))
    };
    let json = |data: &[u8]| -> Result<Value, String> {
        serde_json::from_slice(data).map_err(|e| e.to_string())
    };
    let mut doc = json(files.get("index.json").ok_or("no index.json")?)?;
    // Descend through indexes to the manifest for this architecture.
    let manifest = loop {
        if doc.get("layers").is_some() {
            break doc;
        }
        let list = doc["manifests"].as_array().ok_or("no manifests")?;
        let pick = list
            .iter()
            .find(|m| m["platform"]["architecture"] == arch)
            .or_else(|| list.first())
            .ok_or("empty index")?;
        doc = json(blob(pick["digest"].as_str().ok_or("no digest")?)?)?;
    };
    let layers = manifest["layers"].as_array().ok_or("no layers")?;
    let mut out = ImageBytes {
        layer_tar: 0,
        layer_gzip: 0,
        archive: bytes.len() as u64,
    };
    for layer in layers {
        let gz = blob(layer["digest"].as_str().ok_or("no layer digest")?)?;
        let mut tar = Vec::new();
        flate2::read::GzDecoder::new(&gz[..])
            .read_to_end(&mut tar)
            .map_err(|e| format!("gunzip layer: {e}"))?;
        out.layer_gzip += gz.len() as u64;
        out.layer_tar += tar.len() as u64;
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn peer(path: &Path) -> Peer {
        Peer {
            key: "x".into(),
            label: "x".into(),
            path: path.to_path_buf(),
            args: vec![],
            image_name: "x".into(),
            kind: String::new(),
        }
    }

    #[test]
    fn packing_is_deterministic_and_readable() {
        let exe = std::env::current_exe().unwrap();
        let binary_len = std::fs::metadata(&exe).unwrap().len();
        let (a, bytes) = figures_of_peer(&peer(&exe), "amd64").unwrap();
        let (b, again) = figures_of_peer(&peer(&exe), "amd64").unwrap();
        assert!(bytes == again, "the same peer packs to the same bytes");
        assert_eq!((a.layer_tar, a.layer_gzip), (b.layer_tar, b.layer_gzip));
        // The layer holds the binary alone: one header, the data padded to
        // whole blocks, the two closing blocks.
        assert_eq!(a.layer_tar, 512 + binary_len.div_ceil(512) * 512 + 1024);
        assert!(a.layer_gzip < a.layer_tar);
        assert_eq!(a.archive, bytes.len() as u64);
        let file = std::env::temp_dir().join(format!("pause-bench-test-{}", std::process::id()));
        std::fs::write(&file, &bytes).unwrap();
        let seen = inspect_archive(&file, "amd64");
        std::fs::remove_file(&file).unwrap();
        let seen = seen.unwrap();
        assert_eq!(
            (seen.layer_tar, seen.layer_gzip, seen.archive),
            (a.layer_tar, a.layer_gzip, a.archive)
        );
    }
}
