//! What `oci` attaches to each image: its SBOM (`xtask::sbom`) and its
//! provenance (`xtask::provenance`), from the facts of this checkout, read
//! once: the crate graph, the toolchain, the inputs' digests, the commit.

use crate::project;
use std::collections::BTreeMap;
use xtask::crates::{self, Crate};
use xtask::provenance::{self as slsa, ResourceDescriptor};
use xtask::{Attachment, Image, Input, Options, sbom, sha256_hex, targets};

pub struct Facts {
    name: String,
    tag: String,
    package: project::Package,
    /// The repository URL; None when `--source` is not a URL (a local path
    /// would tie the bytes to the machine).
    source: Option<String>,
    revision: String,
    epoch: i64,
    created: String,
    /// `rustc -Vv`, and its `release:` line's value.
    toolchain: String,
    rust_release: String,
    /// Cargo.lock's and link.ld's sha256.
    inputs: Vec<(&'static str, String)>,
    /// The shipped crates, by Rust target.
    crates: BTreeMap<&'static str, Vec<Crate>>,
}

impl Facts {
    pub fn gather(opts: &Options, source: &str, revision: &str) -> xtask::Result<Self> {
        let root = project::root();
        let toolchain = rustc_version()?;
        let rust_release = toolchain
            .lines()
            .find_map(|l| l.strip_prefix("release: "))
            .ok_or("rustc -Vv: no release line")?
            .to_string();
        let mut inputs = Vec::new();
        for file in ["Cargo.lock", "link.ld"] {
            let path = root.join(file);
            let data = std::fs::read(&path).map_err(|e| format!("{}: {e}", path.display()))?;
            inputs.push((file, sha256_hex(&data)));
        }
        let mut crates = BTreeMap::new();
        for arch in project::ARCHES {
            let target = rust_target(arch)?;
            let graph = crates::shipped(&root.join("Cargo.toml"), "pause", target)?;
            crates.insert(target, graph);
        }
        Ok(Facts {
            name: opts.name.clone(),
            tag: opts.tag.clone(),
            package: project::package()?,
            source: source.contains("://").then(|| source.to_string()),
            revision: revision.to_string(),
            epoch: opts.epoch,
            created: xtask::rfc3339(opts.epoch)?,
            toolchain,
            rust_release,
            inputs,
            crates,
        })
    }

    fn sbom(&self, input: &Input, image: &Image) -> xtask::Result<Attachment> {
        let file_sha256 = sha256_hex(&input.binary);
        let document = sbom::cyclonedx(&sbom::Facts {
            name: &self.name,
            tag: &self.tag,
            platform: &image.platform,
            path: project::PATH,
            file_sha256: &file_sha256,
            package: ("pause", &self.package.version, &self.package.license),
            crates: &self.crates[rust_target(&input.arch)?],
            rust_release: &self.rust_release,
            created: &self.created,
        })?;
        Ok(Attachment {
            media_type: sbom::MEDIA_TYPE,
            title: "sbom.cdx.json".into(),
            document,
        })
    }

    fn provenance(&self, input: &Input, image: &Image) -> xtask::Result<Attachment> {
        let target = rust_target(&input.arch)?;
        let subject = vec![
            digest_of(
                &format!("{}:{}", self.name, self.tag),
                &image.manifest_digest,
            )?,
            ResourceDescriptor::named(project::PATH, "sha256", &sha256_hex(&input.binary)),
        ];
        let predicate = slsa::Provenance {
            build_definition: slsa::BuildDefinition {
                build_type: slsa::BUILD_TYPE,
                external_parameters: slsa::ExternalParameters {
                    command: "make oci".into(),
                    platform: image.platform.clone(),
                    target: target.into(),
                    source: self.source.clone(),
                    revision: self.revision.clone(),
                },
                internal_parameters: slsa::InternalParameters {
                    toolchain: self.toolchain.clone(),
                    core_library: if targets::core_from_source(&input.arch) {
                        "rust-src"
                    } else {
                        "prebuilt"
                    },
                    cargo_profile: "release",
                    source_date_epoch: self.epoch,
                },
                resolved_dependencies: self.resolved(target),
            },
            run_details: slsa::RunDetails {
                builder: slsa::Builder {
                    id: slsa::BUILDER_ID,
                },
            },
        };
        let statement = slsa::Statement::new(subject, predicate);
        Ok(Attachment {
            media_type: slsa::MEDIA_TYPE,
            title: "provenance.intoto.json".into(),
            document: xtask::canonical_json(&statement)?,
        })
    }

    /// The commit, the two input files, and each crate compiled in.
    fn resolved(&self, target: &str) -> Vec<ResourceDescriptor> {
        let mut commit = ResourceDescriptor::named("source", "gitCommit", &self.revision);
        commit.uri = self.source.as_ref().map(|url| format!("git+{url}"));
        let mut out = vec![commit];
        for (file, sha256) in &self.inputs {
            out.push(ResourceDescriptor::named(file, "sha256", sha256));
        }
        for krate in &self.crates[target] {
            let mut d = ResourceDescriptor {
                uri: Some(format!("pkg:cargo/{}@{}", krate.name, krate.version)),
                ..ResourceDescriptor::default()
            };
            if let Some(sum) = &krate.checksum {
                d.digest.insert("sha256".into(), sum.clone());
            }
            out.push(d);
        }
        out
    }
}

impl xtask::Attest for Facts {
    fn documents(&self, input: &Input, image: &Image) -> xtask::Result<Vec<Attachment>> {
        Ok(vec![
            self.sbom(input, image)?,
            self.provenance(input, image)?,
        ])
    }
}

fn rust_target(arch: &str) -> xtask::Result<&'static str> {
    targets::rust_target(arch).ok_or_else(|| format!("no Rust target for {arch:?}").into())
}

/// `sha256:HEX` as an in-toto subject.
fn digest_of(name: &str, digest: &str) -> xtask::Result<ResourceDescriptor> {
    let hex = digest
        .strip_prefix("sha256:")
        .ok_or_else(|| format!("not a sha256 digest: {digest}"))?;
    Ok(ResourceDescriptor::named(name, "sha256", hex))
}

/// `rustc -Vv` of the toolchain that builds the binaries (the repository's
/// rust-toolchain.toml, through rustup, as for `make build`).
fn rustc_version() -> xtask::Result<String> {
    let out = std::process::Command::new("rustc")
        .arg("-Vv")
        .current_dir(project::root())
        .output()
        .map_err(|e| format!("rustc -Vv: {e}"))?;
    if !out.status.success() {
        return Err(format!("rustc -Vv: {}", out.status).into());
    }
    Ok(String::from_utf8(out.stdout)?)
}
