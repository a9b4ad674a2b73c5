//! The SBOM of one image, or of the whole release (the image index), in
//! CycloneDX 1.5 JSON, made with CycloneDX's own library: the image, the one
//! file in it with its sha256 (one per platform for the index), the package
//! that file is built from, and what is compiled into it (the crates of its
//! graph, with versions, licences and purls, and the toolchain's `core`). A
//! composition marked `complete` over all of them, and two properties, say
//! that nothing else is there: no C library, no operating-system package.
//!
//! Scanners list a component only when it has a package URL (Trivy skips the
//! others), so the package and `core` have one too; and Trivy files packages
//! under an application it recognises by its own `aquasecurity:trivy:Type`
//! property, else under an empty target: the `application` component, named
//! after the image, is that.

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

/// The property naming the kind of application for Trivy; `rustbinary` is
/// the type Trivy gives a Rust binary it finds in an image.
const TRIVY_TYPE: (&str, &str) = ("aquasecurity:trivy:Type", "rustbinary");

/// What the SBOM of one platform's image, or of the index, says.
pub struct Facts<'a> {
    /// The image's repository and tag, e.g. `localhost/pause`, `0.1.0`.
    pub name: &'a str,
    pub tag: &'a str,
    /// The file in the image (`/pause`).
    pub path: &'a str,
    /// Each platform the document covers (`linux/arm/v7`, ...) with the
    /// sha256 of its file, in hex: one for an image, all for the index.
    pub files: &'a [(String, String)],
    /// The root package the file is built from: name, version, licence.
    pub package: (&'a str, &'a str, &'a str),
    /// The crates compiled into it (`crates::shipped`; for the index, those
    /// of every platform).
    pub crates: &'a [Crate],
    /// The toolchain's release (`rustc -Vv`'s `release:`), which `core` is from.
    pub rust_release: &'a str,
    /// RFC 3339, the commit's time.
    pub created: &'a str,
}

/// The SBOM's bytes, validated against CycloneDX 1.5 before they are written.
pub fn cyclonedx(facts: &Facts) -> Result<Vec<u8>> {
    let image = image_component(facts);
    let files: Vec<Component> = facts
        .files
        .iter()
        .map(|(platform, sha256)| file_component(facts, platform, sha256))
        .collect();
    let mut libraries: Vec<Component> = facts.crates.iter().map(crate_component).collect();
    libraries.push(core_component(facts.rust_release));
    let package = package_component(facts);
    let application = application_component(facts);
    let dependencies = dependencies(&application, &files, &package, &libraries);
    let mut components = vec![application];
    components.extend(files);
    components.push(package);
    components.extend(libraries);
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
        dependencies: Some(dependencies),
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
            platforms(facts)
        )
        .into());
    }
    let mut pretty = Vec::new();
    bom.output_as_json_v1_5(&mut pretty)?;
    // Compact, as every other document of the archive.
    crate::canonical_json(&serde_json::from_slice::<serde_json::Value>(&pretty)?)
}

/// `linux/amd64`, or `linux/amd64, linux/arm64/v8, ...` for the index.
fn platforms(facts: &Facts) -> String {
    let names: Vec<&str> = facts.files.iter().map(|(p, _)| p.as_str()).collect();
    names.join(", ")
}

fn image_component(facts: &Facts) -> Component {
    let mut c = Component::new(
        Classification::Container,
        facts.name,
        facts.tag,
        Some("image".into()),
    );
    let what = if facts.files.len() == 1 {
        format!("{} for {}", facts.name, platforms(facts))
    } else {
        format!("{}, one image for each of {}", facts.name, platforms(facts))
    };
    c.description = Some(NormalizedString::new(&format!(
        "{what}: the one file {}, static, with no C library and no OS package",
        facts.path
    )));
    c.properties = Some(Properties(
        facts
            .files
            .iter()
            .map(|(platform, _)| Property::new("pause:platform", platform))
            .collect(),
    ));
    c
}

/// The image as the application scanners report on: `name:tag`.
fn application_component(facts: &Facts) -> Component {
    let reference = format!("{}:{}", facts.name, facts.tag);
    let mut c = Component::new(
        Classification::Application,
        &reference,
        facts.package.1,
        Some("application".into()),
    );
    c.version = None;
    c.properties = Some(Properties(vec![Property::new(TRIVY_TYPE.0, TRIVY_TYPE.1)]));
    c
}

/// The file of one platform; the index's name each by platform.
fn file_component(facts: &Facts, platform: &str, sha256_hex: &str) -> Component {
    let bom_ref = if facts.files.len() == 1 {
        format!("file:{}", facts.path)
    } else {
        format!("file:{platform}:{}", facts.path)
    };
    let mut c = Component::new(
        Classification::File,
        facts.path,
        facts.package.1,
        Some(bom_ref),
    );
    c.hashes = Some(sha256(sha256_hex));
    c.version = None;
    c.properties = Some(Properties(vec![Property::new("pause:platform", platform)]));
    c
}

/// The project's own package. It is no crate of crates.io (`publish =
/// false`), but `pkg:cargo` is how every SBOM tool types a Rust package and
/// the one type Trivy lists Rust packages by: pause shows as `pause 0.1.0`.
fn package_component(facts: &Facts) -> Component {
    let (name, version, license) = facts.package;
    let mut c = Component::new(
        Classification::Application,
        name,
        version,
        Some(format!("package:{name}")),
    );
    c.purl = Purl::new("cargo", name, version).ok();
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
/// Its package URL is `pkg:cargo/core@RELEASE`: the toolchain's libraries
/// (core, alloc, std) are crates versioned by the Rust release, which is how
/// RustSec files advisories against them, and `pkg:cargo` is the type
/// scanners read Rust packages by (Trivy lists it as `rust-lang/core`, its
/// version the toolchain's).
fn core_component(rust_release: &str) -> Component {
    let mut c = Component::new(
        Classification::Library,
        "core",
        rust_release,
        Some("rust:core".into()),
    );
    c.purl = Purl::new("cargo", "core", rust_release).ok();
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

/// The image is the application; the application and every file are the
/// package (Trivy lists the packages an application depends on, and stops at
/// anything that is not a package); the package is made of every library
/// (the crates' own graph is flat today; the composition names them all
/// either way).
fn dependencies(
    application: &Component,
    files: &[Component],
    package: &Component,
    libraries: &[Component],
) -> Dependencies {
    let bom_ref = |c: &Component| c.bom_ref.clone().unwrap_or_default();
    let package_ref = bom_ref(package);
    let mut image = vec![bom_ref(application)];
    image.extend(files.iter().map(bom_ref));
    let mut out = vec![Dependency {
        dependency_ref: "image".into(),
        dependencies: image,
    }];
    for holder in std::iter::once(application).chain(files) {
        out.push(Dependency {
            dependency_ref: bom_ref(holder),
            dependencies: vec![package_ref.clone()],
        });
    }
    out.push(Dependency {
        dependency_ref: package_ref,
        dependencies: libraries.iter().map(bom_ref).collect(),
    });
    Dependencies(out)
}
