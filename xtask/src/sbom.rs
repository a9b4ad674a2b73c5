//! The SBOM of one image, in CycloneDX 1.5 JSON, made with CycloneDX's own
//! library: the image, the one file in it with its sha256, the package that
//! file is built from, and what is compiled into it (the crates of its graph,
//! with versions, licences and purls, and the toolchain's `core`). A
//! composition marked `complete` over all of them, and two properties, say
//! that nothing else is there: no C library, no operating-system package.

use crate::Result;
use crate::crates::Crate;
use cyclonedx_bom::external_models::date_time::DateTime;
use cyclonedx_bom::models::bom::BomReference;
use cyclonedx_bom::models::component::Classification;
use cyclonedx_bom::models::composition::{AggregateType, Composition, Compositions};
use cyclonedx_bom::models::dependency::{Dependencies, Dependency};
use cyclonedx_bom::models::hash::{Hash, HashAlgorithm, HashValue, Hashes};
use cyclonedx_bom::models::license::{LicenseChoice, Licenses};
use cyclonedx_bom::models::property::{Properties, Property};
use cyclonedx_bom::prelude::*;

/// The media type of the document, and the referrer's `artifactType`.
pub const MEDIA_TYPE: &str = "application/vnd.cyclonedx+json";

/// What the SBOM of one platform's image says.
pub struct Facts<'a> {
    /// The image's repository and tag, e.g. `localhost/pause`, `0.1.0`.
    pub name: &'a str,
    pub tag: &'a str,
    /// `linux/arm/v7`, ...
    pub platform: &'a str,
    /// The file in the image (`/pause`) and its sha256, in hex.
    pub path: &'a str,
    pub file_sha256: &'a str,
    /// The root package the file is built from: name, version, licence.
    pub package: (&'a str, &'a str, &'a str),
    /// The crates compiled into it (`crates::shipped`).
    pub crates: &'a [Crate],
    /// The toolchain's release (`rustc -Vv`'s `release:`), which `core` is from.
    pub rust_release: &'a str,
    /// RFC 3339, the commit's time.
    pub created: &'a str,
}

/// The SBOM's bytes, validated against CycloneDX 1.5 before they are written.
pub fn cyclonedx(facts: &Facts) -> Result<Vec<u8>> {
    let image = image_component(facts);
    let mut components = vec![file_component(facts), package_component(facts)];
    components.extend(facts.crates.iter().map(crate_component));
    components.push(core_component(facts.rust_release));
    let mut every = vec![image.bom_ref.clone().unwrap_or_default()];
    every.extend(components.iter().filter_map(|c| c.bom_ref.clone()));
    let bom = Bom {
        version: 1,
        // A random serial number would change the bytes on every build.
        serial_number: None,
        metadata: Some(Metadata {
            timestamp: Some(DateTime::try_from(facts.created.to_string())?),
            component: Some(image),
            ..Metadata::default()
        }),
        dependencies: Some(dependencies(&components)),
        components: Some(Components(components)),
        compositions: Some(Compositions(vec![Composition {
            bom_ref: None,
            aggregate: AggregateType::Complete,
            assemblies: Some(every.into_iter().map(BomReference::new).collect()),
            dependencies: None,
            vulnerabilities: None,
            signature: None,
        }])),
        properties: Some(Properties(vec![
            Property::new("pause:c-library", "none: no_std, linked without libc"),
            Property::new("pause:os-packages", "none: the image holds one file"),
        ])),
        spec_version: SpecVersion::V1_5,
        ..Bom::default()
    };
    let check = bom.validate_version(SpecVersion::V1_5);
    if !check.passed() {
        return Err(format!(
            "SBOM of {}: not valid CycloneDX 1.5: {check:?}",
            facts.platform
        )
        .into());
    }
    let mut pretty = Vec::new();
    bom.output_as_json_v1_5(&mut pretty)?;
    // Compact, as every other document of the archive.
    crate::canonical_json(&serde_json::from_slice::<serde_json::Value>(&pretty)?)
}

fn image_component(facts: &Facts) -> Component {
    let mut c = Component::new(
        Classification::Container,
        facts.name,
        facts.tag,
        Some("image".into()),
    );
    c.description = Some(NormalizedString::new(&format!(
        "{} for {}: the one file {}, static, with no C library and no OS package",
        facts.name, facts.platform, facts.path
    )));
    c.properties = Some(Properties(vec![Property::new(
        "pause:platform",
        facts.platform,
    )]));
    c
}

fn file_component(facts: &Facts) -> Component {
    let mut c = Component::new(
        Classification::File,
        facts.path,
        facts.package.1,
        Some(format!("file:{}", facts.path)),
    );
    c.hashes = Some(sha256(facts.file_sha256));
    c.version = None;
    c
}

fn package_component(facts: &Facts) -> Component {
    let (name, version, license) = facts.package;
    let mut c = Component::new(
        Classification::Application,
        name,
        version,
        Some(format!("package:{name}")),
    );
    c.licenses = Some(Licenses(vec![LicenseChoice::expression(license)]));
    c
}

fn crate_component(krate: &Crate) -> Component {
    let purl = Purl::new("cargo", &krate.name, &krate.version).ok();
    let bom_ref = purl.as_ref().map(ToString::to_string);
    let mut c = Component::new(
        Classification::Library,
        &krate.name,
        &krate.version,
        bom_ref,
    );
    c.purl = purl;
    c.licenses = krate
        .license
        .as_deref()
        .map(|l| Licenses(vec![LicenseChoice::expression(l)]));
    c.hashes = krate.checksum.as_deref().map(sha256);
    c
}

/// The toolchain's `core`, compiled into every Rust binary: not in
/// Cargo.lock, but in the file, so listed for the scanners that track Rust.
fn core_component(rust_release: &str) -> Component {
    let mut c = Component::new(
        Classification::Library,
        "core",
        rust_release,
        Some("rust:core".into()),
    );
    c.group = Some(NormalizedString::new("rust-lang"));
    c.licenses = Some(Licenses(vec![LicenseChoice::expression(
        "MIT OR Apache-2.0",
    )]));
    c
}

fn sha256(hex: &str) -> Hashes {
    Hashes(vec![Hash {
        alg: HashAlgorithm::SHA_256,
        content: HashValue(hex.to_string()),
    }])
}

/// The image holds the file; the file is the package; the package is made
/// of every library (the crates' own graph is flat today; the composition
/// names them all either way).
fn dependencies(components: &[Component]) -> Dependencies {
    let refs: Vec<String> = components
        .iter()
        .filter_map(|c| c.bom_ref.clone())
        .collect();
    let (file, package, libraries) = (&refs[0], &refs[1], &refs[2..]);
    Dependencies(vec![
        Dependency {
            dependency_ref: "image".into(),
            dependencies: vec![file.clone()],
        },
        Dependency {
            dependency_ref: file.clone(),
            dependencies: vec![package.clone()],
        },
        Dependency {
            dependency_ref: package.clone(),
            dependencies: libraries.to_vec(),
        },
    ])
}
