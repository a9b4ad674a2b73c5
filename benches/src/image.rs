//! Image bytes: every peer packed the same way, as a one-file layer (a tar
//! holding only the binary, deterministic), that layer gzipped (what every
//! node pulls) and a whole OCI image-layout archive around it.

use flate2::Compression;
use flate2::write::GzEncoder;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use std::io::{Read, Write};
use std::path::Path;

#[derive(Debug, Clone, serde::Serialize)]
pub struct ImageBytes {
    pub layer_tar: u64,
    pub layer_gzip: u64,
    pub archive: u64,
}

fn sha256(data: &[u8]) -> String {
    format!("sha256:{:x}", Sha256::digest(data))
}

fn deterministic_header(size: u64, mode: u32) -> tar::Header {
    let mut h = tar::Header::new_ustar();
    h.set_size(size);
    h.set_mode(mode);
    h.set_uid(0);
    h.set_gid(0);
    h.set_mtime(0);
    h.set_entry_type(tar::EntryType::Regular);
    h
}

fn tar_of(files: &[(&str, &[u8], u32)]) -> Result<Vec<u8>, String> {
    let mut b = tar::Builder::new(Vec::new());
    for (name, data, mode) in files {
        let mut h = deterministic_header(data.len() as u64, *mode);
        b.append_data(&mut h, name, *data)
            .map_err(|e| format!("tar {name}: {e}"))?;
    }
    b.into_inner().map_err(|e| format!("tar: {e}"))
}

fn gzip(data: &[u8]) -> Result<Vec<u8>, String> {
    // No name, mtime 0: the same input always gives the same bytes.
    let mut gz = GzEncoder::new(Vec::new(), Compression::best());
    gz.write_all(data).map_err(|e| format!("gzip: {e}"))?;
    gz.finish().map_err(|e| format!("gzip: {e}"))
}

/// Packs `binary` as /`name` in a one-layer image whose entrypoint is
/// `entrypoint`, as an OCI image layout in a tar; returns the figures and
/// the archive bytes.
pub fn pack(
    binary: &Path,
    name: &str,
    entrypoint: &[String],
    arch: &str,
) -> Result<(ImageBytes, Vec<u8>), String> {
    let data = std::fs::read(binary).map_err(|e| format!("read {}: {e}", binary.display()))?;
    let layer = tar_of(&[(name, &data, 0o755)])?;
    let layer_gz = gzip(&layer)?;
    let config = serde_json::to_vec(&json!({
        "architecture": arch,
        "os": "linux",
        "config": { "Entrypoint": entrypoint, "User": "65535:65535", "WorkingDir": "/" },
        "rootfs": { "type": "layers", "diff_ids": [sha256(&layer)] },
    }))
    .map_err(|e| e.to_string())?;
    let manifest = serde_json::to_vec(&json!({
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": {
            "mediaType": "application/vnd.oci.image.config.v1+json",
            "digest": sha256(&config), "size": config.len(),
        },
        "layers": [{
            "mediaType": "application/vnd.oci.image.layer.v1.tar+gzip",
            "digest": sha256(&layer_gz), "size": layer_gz.len(),
        }],
    }))
    .map_err(|e| e.to_string())?;
    let index = serde_json::to_vec(&json!({
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.index.v1+json",
        "manifests": [{
            "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "digest": sha256(&manifest), "size": manifest.len(),
            "platform": { "architecture": arch, "os": "linux" },
        }],
    }))
    .map_err(|e| e.to_string())?;
    let layout = br#"{"imageLayoutVersion":"1.0.0"}"#;
    let blob = |d: &[u8]| format!("blobs/sha256/{}", &sha256(d)["sha256:".len()..]);
    let (b_layer, b_config, b_manifest) = (blob(&layer_gz), blob(&config), blob(&manifest));
    let archive = tar_of(&[
        ("oci-layout", layout, 0o644),
        ("index.json", &index, 0o644),
        (&b_manifest, &manifest, 0o644),
        (&b_config, &config, 0o644),
        (&b_layer, &layer_gz, 0o644),
    ])?;
    Ok((
        ImageBytes {
            layer_tar: layer.len() as u64,
            layer_gzip: layer_gz.len() as u64,
            archive: archive.len() as u64,
        },
        archive,
    ))
}

/// Reads the figures of an existing OCI image-layout archive (such as the
/// project's `make oci` output): the layer of the manifest for `arch`.
pub fn inspect_archive(path: &Path, arch: &str) -> Result<ImageBytes, String> {
    let bytes = std::fs::read(path).map_err(|e| format!("read {}: {e}", path.display()))?;
    let mut files = std::collections::HashMap::new();
    let mut ar = tar::Archive::new(&bytes[..]);
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

    #[test]
    fn packing_is_deterministic_and_readable() {
        let exe = std::env::current_exe().unwrap();
        let ep = vec!["/x".to_string()];
        let (a, bytes) = pack(&exe, "x", &ep, "amd64").unwrap();
        let (b, _) = pack(&exe, "x", &ep, "amd64").unwrap();
        assert_eq!(a.layer_gzip, b.layer_gzip);
        let dir = std::env::temp_dir().join(format!("pause-bench-test-{}", std::process::id()));
        std::fs::write(&dir, &bytes).unwrap();
        let seen = inspect_archive(&dir, "amd64");
        std::fs::remove_file(&dir).unwrap();
        let seen = seen.unwrap();
        assert_eq!(seen.layer_tar, a.layer_tar);
        assert_eq!(seen.layer_gzip, a.layer_gzip);
        assert_eq!(seen.archive, a.archive);
    }
}
