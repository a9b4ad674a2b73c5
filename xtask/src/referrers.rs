//! Documents attached to an image as OCI 1.1 referrers: for each, an
//! artifact manifest (`artifactType`, the empty config, the document as its
//! one layer) whose `subject` is the image manifest, or the image index. The layout's index.json
//! lists them beside the image index, since a referrer points at its image
//! and so cannot be reached from it: that is where `oras discover
//! --oci-layout` and `oras cp -r` look for them.

use crate::{Blobs, Image, Input, Result, canonical_json};
use oci_spec::image::{Descriptor, ImageManifestBuilder, MediaType, SCHEMA_VERSION};
use std::collections::HashMap;

/// One document about one image, e.g. its SBOM; its media type is also the
/// artifact type of the manifest that carries it.
pub struct Attachment {
    pub media_type: String,
    /// The layer's title: the file name `oras pull` writes it to.
    pub title: String,
    pub document: Vec<u8>,
}

/// What to attach to each image, once its manifest exists, and to the image
/// index, once every image is in it.
pub trait Attest {
    fn documents(&self, input: &Input, image: &Image) -> Result<Vec<Attachment>>;

    /// The index's documents, given its digest, the inputs and their images
    /// (in the same order); none unless the attester says otherwise.
    fn index_documents(&self, _digest: &str, _: &[Input], _: &[Image]) -> Result<Vec<Attachment>> {
        Ok(Vec::new())
    }
}

/// Attaches nothing: the packer for any set of binaries.
pub struct Nothing;

impl Attest for Nothing {
    fn documents(&self, _: &Input, _: &Image) -> Result<Vec<Attachment>> {
        Ok(Vec::new())
    }
}

/// One attached document, as the builder reports it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Referrer {
    pub artifact_type: String,
    pub manifest_digest: String,
    pub document_digest: String,
}

/// Adds the artifact manifest of `attachment` about `subject` (an image
/// manifest's descriptor, without platform, or the image index's). Returns its descriptor with its
/// artifact type, for index.json.
pub(crate) fn add(
    blobs: &mut Blobs,
    subject: &Descriptor,
    attachment: Attachment,
) -> Result<(Descriptor, Referrer)> {
    let artifact_type = MediaType::from(attachment.media_type.as_str());
    // The empty config the OCI image spec names for artifacts.
    let config = blobs.add(MediaType::EmptyJSON, b"{}".to_vec())?;
    let mut layer = blobs.add(artifact_type.clone(), attachment.document)?;
    layer.set_annotations(Some(HashMap::from([(
        "org.opencontainers.image.title".to_string(),
        attachment.title,
    )])));
    let manifest = ImageManifestBuilder::default()
        .schema_version(SCHEMA_VERSION)
        .media_type(MediaType::ImageManifest)
        .artifact_type(artifact_type.clone())
        .config(config)
        .layers(vec![layer.clone()])
        .subject(subject.clone())
        .build()?;
    let mut descriptor = blobs.add(MediaType::ImageManifest, canonical_json(&manifest)?)?;
    descriptor.set_artifact_type(Some(artifact_type));
    let referrer = Referrer {
        artifact_type: attachment.media_type,
        manifest_digest: descriptor.digest().to_string(),
        document_digest: layer.digest().to_string(),
    };
    Ok((descriptor, referrer))
}
