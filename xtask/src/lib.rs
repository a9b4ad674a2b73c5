//! Packs static binaries into one OCI image index, written as an `oci-archive`
//! (a tar of an OCI image layout: `oci-layout`, `index.json`, `blobs/sha256/*`).
//!
//! Every byte is a function of the inputs: file contents, the options and one
//! timestamp (the commit's, `SOURCE_DATE_EPOCH`). Nothing is read from the
//! build machine: no file modes, owners, times, host names or paths.
//!
//! Layout of the archive:
//! - `index.json` names one image index (annotation `org.opencontainers.image.ref.name`
//!   = the tag, `io.containerd.image.name` = the full reference for `ctr import`);
//! - that image index lists one image manifest per platform;
//! - each manifest has one config and one gzip layer holding only the binary;
//! - with `build_attested`, index.json also lists each image's referrers
//!   (its SBOM and provenance: `referrers`, `sbom`, `provenance`), and the
//!   image index's own (the whole release's).

pub mod crates;
pub mod provenance;
pub mod referrers;
pub mod sbom;
pub mod size;
pub mod targets;

pub use referrers::{Attachment, Attest, Referrer};

use flate2::{Compression, GzBuilder};
use oci_spec::image::{
    Arch, ConfigBuilder, Descriptor, DescriptorBuilder, HistoryBuilder, ImageConfiguration,
    ImageConfigurationBuilder, ImageIndexBuilder, ImageManifestBuilder, MediaType, Os, Platform,
    PlatformBuilder, RootFsBuilder, SCHEMA_VERSION,
};
use serde_json::{Map, Value};
use sha2::{Digest as _, Sha256};
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::io::Write;

pub type Error = Box<dyn std::error::Error + Send + Sync>;
pub type Result<T> = std::result::Result<T, Error>;

/// The image's repository unless the build names another (`make oci
/// IMAGE_NAME=...`, `--name`). `localhost` is no one else's registry: a node
/// that lacks the image fails to pull it instead of fetching a stranger's
/// `pause` from Docker Hub, and podman lists local images under the same name.
pub const DEFAULT_NAME: &str = "localhost/pause";

/// The annotation containerd's `ctr images import` names an image by.
pub const CONTAINERD_IMAGE_NAME: &str = "io.containerd.image.name";
/// The OCI annotation a layout's `index.json` tags an image with.
pub const REF_NAME: &str = "org.opencontainers.image.ref.name";

/// One architecture's binary.
#[derive(Clone, Debug)]
pub struct Input {
    /// Kubernetes/Go architecture name (`amd64`, `arm64`, `arm`, `ppc64le`, `s390x`,
    /// `riscv64`, `loong64`), optionally with a variant (`arm/v6`). Plain `arm`
    /// means `arm/v7`, plain `arm64` `arm64/v8`.
    pub arch: String,
    /// The file's contents.
    pub binary: Vec<u8>,
    /// The file's name, for the image history (`created_by`), e.g.
    /// `pause-linux-amd64`.
    pub source_name: String,
}

/// What every image of the index shares.
#[derive(Clone, Debug)]
pub struct Options {
    /// Seconds since the epoch for every timestamp (tar entries, `created`).
    pub epoch: i64,
    /// Absolute path of the binary in the image, e.g. `/pause`.
    pub path: String,
    /// Entrypoint, e.g. `["/pause"]`.
    pub entrypoint: Vec<String>,
    /// Config `User`, e.g. `65535:65535`.
    pub user: String,
    /// Config labels, also set as annotations on the image index.
    pub labels: BTreeMap<String, String>,
    /// Repository, e.g. `localhost/pause` ([`DEFAULT_NAME`]).
    pub name: String,
    /// Tag, e.g. `0.1.0`.
    pub tag: String,
    /// The command that packs, as each image's history names it after the
    /// instruction, the way `docker history` shows `# buildkit` for buildx:
    /// e.g. `make oci (cargo xtask oci, xtask 0.1.0)`.
    pub tool: String,
}

/// One platform's image in the built index.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Image {
    /// `linux/amd64`, `linux/arm/v7`, ...
    pub platform: String,
    pub manifest_digest: String,
    pub config_digest: String,
    pub layer_digest: String,
    /// The documents attached to it (none from `build`).
    pub referrers: Vec<Referrer>,
}

#[derive(Clone, Debug)]
pub struct Built {
    /// The oci-archive's bytes.
    pub archive: Vec<u8>,
    /// Digest of the image index (what a registry would serve for the tag).
    pub index_digest: String,
    pub images: Vec<Image>,
    /// The documents attached to the image index itself.
    pub referrers: Vec<Referrer>,
}

/// Splits `arm/v7` into OCI architecture and variant. `arm` alone is v7 (what
/// the project builds for 32-bit ARM) and `arm64` alone v8, the variants the
/// OCI platform list names, so a runtime matching `linux/arm64/v8` finds it.
pub fn platform_of(arch: &str) -> Result<(String, Option<String>)> {
    let (a, v) = match arch.split_once('/') {
        Some((a, v)) => (a, Some(v.to_string())),
        None => (arch, None),
    };
    let v = match (a, v) {
        ("arm", None) => Some("v7".to_string()),
        ("arm64", None) => Some("v8".to_string()),
        (_, v) => v,
    };
    match a {
        "amd64" | "arm64" | "arm" | "ppc64le" | "s390x" | "riscv64" | "386" | "mips64le"
        | "loong64" => Ok((a.to_string(), v)),
        _ => Err(format!("unknown architecture {arch:?}").into()),
    }
}

pub fn sha256_hex(data: &[u8]) -> String {
    let d = Sha256::digest(data);
    d.iter().map(|b| format!("{b:02x}")).collect()
}

/// Serializes with object keys sorted at every level, whatever map type the
/// value was built from, so the bytes never depend on hash order.
pub fn canonical_json<T: serde::Serialize>(v: &T) -> Result<Vec<u8>> {
    fn sort(v: Value) -> Value {
        match v {
            Value::Object(m) => {
                let mut entries: Vec<(String, Value)> = m.into_iter().collect();
                entries.sort_by(|a, b| a.0.cmp(&b.0));
                let mut out = Map::new();
                for (k, v) in entries {
                    out.insert(k, sort(v));
                }
                Value::Object(out)
            }
            Value::Array(a) => Value::Array(a.into_iter().map(sort).collect()),
            v => v,
        }
    }
    Ok(serde_json::to_vec(&sort(serde_json::to_value(v)?))?)
}

/// A regular file or directory header with fixed owner, time and mode.
fn header(path: &str, size: u64, mode: u32, epoch: i64, dir: bool) -> Result<tar::Header> {
    let mut h = tar::Header::new_ustar();
    h.set_path(path)?;
    h.set_size(size);
    h.set_mode(mode);
    h.set_uid(0);
    h.set_gid(0);
    h.set_mtime(u64::try_from(epoch)?);
    h.set_entry_type(if dir {
        tar::EntryType::Directory
    } else {
        tar::EntryType::Regular
    });
    h.set_cksum();
    Ok(h)
}

pub fn rfc3339(epoch: i64) -> Result<String> {
    let t = time::OffsetDateTime::from_unix_timestamp(epoch)?;
    Ok(t.format(&time::format_description::well_known::Rfc3339)?)
}

pub(crate) struct Blobs(BTreeMap<String, Vec<u8>>);

impl Blobs {
    pub(crate) fn add(&mut self, media: MediaType, data: Vec<u8>) -> Result<Descriptor> {
        let hex = sha256_hex(&data);
        let digest = oci_spec::image::Digest::try_from(format!("sha256:{hex}"))?;
        let d = Descriptor::new(media, data.len() as u64, digest);
        self.0.insert(hex, data);
        Ok(d)
    }
}

/// Builds the archive in memory.
pub fn build(opts: &Options, inputs: &[Input]) -> Result<Built> {
    build_attested(opts, inputs, &referrers::Nothing)
}

/// Builds the archive with what `attest` gives for each image attached to it.
pub fn build_attested(opts: &Options, inputs: &[Input], attest: &dyn Attest) -> Result<Built> {
    if inputs.is_empty() {
        return Err("no binaries given".into());
    }
    let shared = Shared::new(opts)?;
    let mut blobs = Blobs(BTreeMap::new());
    let mut manifests = Vec::new();
    let mut images = Vec::new();
    let mut artifacts = Vec::new();
    let mut seen = BTreeSet::new();
    for input in inputs {
        let target = Target::of(&input.arch)?;
        // Two binaries for one platform would make the index ambiguous.
        if !seen.insert(target.name.clone()) {
            return Err(format!("platform {} given twice", target.name).into());
        }
        let (manifest, mut image) = add_image(&mut blobs, &shared, &target, input)?;
        let mut subject = manifest.clone();
        subject.set_platform(None);
        for attachment in attest.documents(input, &image)? {
            let (artifact, referrer) = referrers::add(&mut blobs, &subject, attachment)?;
            artifacts.push(artifact);
            image.referrers.push(referrer);
        }
        manifests.push(manifest);
        images.push(image);
    }
    let index = add_image_index(&mut blobs, &shared, manifests)?;
    let mut referrers = Vec::new();
    for attachment in attest.index_documents(index.digest().as_ref(), inputs, &images)? {
        let (artifact, referrer) = referrers::add(&mut blobs, &index, attachment)?;
        artifacts.push(artifact);
        referrers.push(referrer);
    }
    let layout_index = layout_index(opts, &index, artifacts)?;
    Ok(Built {
        archive: archive(blobs, layout_index, opts.epoch)?,
        index_digest: index.digest().to_string(),
        images,
        referrers,
    })
}

/// What every platform's image takes from the options, derived once.
struct Shared<'a> {
    opts: &'a Options,
    /// `opts.epoch` as RFC 3339, for every `created` field.
    created: String,
    /// `opts.labels` in the map type oci-spec takes; `canonical_json` sorts
    /// the keys again, so the hash order never reaches the bytes.
    labels: HashMap<String, String>,
}

impl<'a> Shared<'a> {
    fn new(opts: &'a Options) -> Result<Self> {
        Ok(Shared {
            opts,
            created: rfc3339(opts.epoch)?,
            labels: opts.labels.clone().into_iter().collect(),
        })
    }
}

/// One input's OCI platform.
struct Target {
    arch: String,
    variant: Option<String>,
    /// `linux/amd64`, `linux/arm/v7`, ...
    name: String,
}

impl Target {
    fn of(arch: &str) -> Result<Self> {
        let (arch, variant) = platform_of(arch)?;
        let name = match &variant {
            Some(v) => format!("linux/{arch}/{v}"),
            None => format!("linux/{arch}"),
        };
        Ok(Target {
            arch,
            variant,
            name,
        })
    }

    /// The platform the image index lists the manifest under, so a runtime
    /// picks the manifest for its own machine.
    fn oci_platform(&self) -> Result<Platform> {
        let mut p = PlatformBuilder::default()
            .architecture(Arch::from(self.arch.as_str()))
            .os(Os::Linux)
            .build()?;
        if let Some(v) = &self.variant {
            p.set_variant(Some(v.clone()));
        }
        Ok(p)
    }
}

/// Adds one platform's layer, config and manifest blobs. Returns the
/// manifest's descriptor (with its platform, for the image index) and the
/// digests the caller reports.
fn add_image(
    blobs: &mut Blobs,
    shared: &Shared,
    target: &Target,
    input: &Input,
) -> Result<(Descriptor, Image)> {
    let (layer, diff_id) = add_layer(blobs, shared.opts, &input.binary)?;
    let config = image_config(shared, target, diff_id, &input.source_name)?;
    let config = blobs.add(MediaType::ImageConfig, canonical_json(&config)?)?;
    let manifest = ImageManifestBuilder::default()
        .schema_version(SCHEMA_VERSION)
        .media_type(MediaType::ImageManifest)
        .config(config.clone())
        .layers(vec![layer.clone()])
        .build()?;
    let mut manifest = blobs.add(MediaType::ImageManifest, canonical_json(&manifest)?)?;
    manifest.set_platform(Some(target.oci_platform()?));
    let image = Image {
        platform: target.name.clone(),
        manifest_digest: manifest.digest().to_string(),
        config_digest: config.digest().to_string(),
        layer_digest: layer.digest().to_string(),
        referrers: Vec::new(),
    };
    Ok((manifest, image))
}

/// Adds the gzipped layer. Returns its descriptor and its diff ID: the digest
/// of the uncompressed tar, which the config's rootfs must name.
fn add_layer(blobs: &mut Blobs, opts: &Options, binary: &[u8]) -> Result<(Descriptor, String)> {
    let tar = layer_tar(opts, binary)?;
    let diff_id = format!("sha256:{}", sha256_hex(&tar));
    let gz = gzip(&tar)?;
    Ok((blobs.add(MediaType::ImageLayerGzip, gz)?, diff_id))
}

/// The layer's tar: only the binary, mode 0755, uid/gid 0, time `opts.epoch`.
fn layer_tar(opts: &Options, binary: &[u8]) -> Result<Vec<u8>> {
    let path = opts.path.trim_start_matches('/');
    if path.is_empty() || path.contains('/') {
        return Err(format!("--path must be a file in /, got {:?}", opts.path).into());
    }
    let mut b = tar::Builder::new(Vec::new());
    let h = header(path, binary.len() as u64, 0o755, opts.epoch, false)?;
    b.append(&h, binary)?;
    Ok(b.into_inner()?)
}

/// Gzips with a fixed header (no name, mtime 0, OS "unknown") so the bytes
/// do not depend on when or where they were made.
fn gzip(data: &[u8]) -> Result<Vec<u8>> {
    let mut gz = GzBuilder::new()
        .mtime(0)
        .operating_system(255)
        .write(Vec::new(), Compression::best());
    gz.write_all(data)?;
    Ok(gz.finish()?)
}

/// The image config: how to run the binary (user, entrypoint, labels), the
/// one layer's diff ID, and a history entry saying what wrote the layer: the
/// instruction a Dockerfile would have (`COPY pause-linux-amd64 /pause`) and
/// the command that ran it.
fn image_config(
    shared: &Shared,
    target: &Target,
    diff_id: String,
    source_name: &str,
) -> Result<ImageConfiguration> {
    let opts = shared.opts;
    let mut config = ImageConfigurationBuilder::default()
        .created(shared.created.clone())
        .architecture(Arch::from(target.arch.as_str()))
        .os(Os::Linux)
        .config(
            ConfigBuilder::default()
                .user(opts.user.clone())
                .entrypoint(opts.entrypoint.clone())
                .working_dir("/".to_string())
                .labels(shared.labels.clone())
                .build()?,
        )
        .rootfs(
            RootFsBuilder::default()
                .typ("layers")
                .diff_ids(vec![diff_id])
                .build()?,
        )
        .history(vec![
            HistoryBuilder::default()
                .created(shared.created.clone())
                .created_by(format!("COPY {source_name} {} # {}", opts.path, opts.tool))
                .build()?,
        ])
        .build()?;
    if let Some(v) = &target.variant {
        config.set_variant(Some(v.clone()));
    }
    Ok(config)
}

/// Adds the image index listing every platform's manifest, annotated with the
/// labels and the creation time; its digest is what a registry would serve
/// for the tag.
fn add_image_index(
    blobs: &mut Blobs,
    shared: &Shared,
    manifests: Vec<Descriptor>,
) -> Result<Descriptor> {
    let mut annotations = shared.labels.clone();
    annotations.insert(
        "org.opencontainers.image.created".into(),
        shared.created.clone(),
    );
    let index = ImageIndexBuilder::default()
        .schema_version(SCHEMA_VERSION)
        .media_type(MediaType::ImageIndex)
        .manifests(manifests)
        .annotations(annotations)
        .build()?;
    blobs.add(MediaType::ImageIndex, canonical_json(&index)?)
}

/// The layout's `index.json`: points at the image index and names it twice,
/// by tag (the OCI annotation layout tools read) and by full reference (the
/// annotation `ctr images import` names the image by); then the referrers,
/// unnamed, each with its artifact type.
fn layout_index(opts: &Options, index: &Descriptor, referrers: Vec<Descriptor>) -> Result<Vec<u8>> {
    let mut manifests = vec![
        DescriptorBuilder::default()
            .media_type(MediaType::ImageIndex)
            .digest(index.digest().clone())
            .size(index.size())
            .annotations(HashMap::from([
                (REF_NAME.to_string(), opts.tag.clone()),
                (
                    CONTAINERD_IMAGE_NAME.to_string(),
                    format!("{}:{}", opts.name, opts.tag),
                ),
            ]))
            .build()?,
    ];
    manifests.extend(referrers);
    let top = ImageIndexBuilder::default()
        .schema_version(SCHEMA_VERSION)
        .media_type(MediaType::ImageIndex)
        .manifests(manifests)
        .build()?;
    canonical_json(&top)
}

/// The archive: the OCI layout's entries sorted by path (directories as
/// `None`), fixed owner/mode/time.
fn archive(blobs: Blobs, layout_index: Vec<u8>, epoch: i64) -> Result<Vec<u8>> {
    let mut files: BTreeMap<String, Option<Vec<u8>>> = BTreeMap::new();
    files.insert("blobs/".into(), None);
    files.insert("blobs/sha256/".into(), None);
    for (hex, data) in blobs.0 {
        files.insert(format!("blobs/sha256/{hex}"), Some(data));
    }
    files.insert("index.json".into(), Some(layout_index));
    files.insert(
        "oci-layout".into(),
        Some(br#"{"imageLayoutVersion":"1.0.0"}"#.to_vec()),
    );
    let mut b = tar::Builder::new(Vec::new());
    for (path, data) in &files {
        match data {
            None => b.append(&header(path, 0, 0o755, epoch, true)?, std::io::empty())?,
            Some(d) => b.append(
                &header(path, d.len() as u64, 0o644, epoch, false)?,
                d.as_slice(),
            )?,
        }
    }
    Ok(b.into_inner()?)
}
