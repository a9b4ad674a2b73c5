//! What `oci` attaches to each image: its SBOM (`xtask::sbom`) and its
//! provenance (`xtask::provenance`), from the facts of this checkout, read
//! once: the crate graph, the toolchain, the inputs' digests, the commit.
//! The image index gets the same two documents for the whole release.
//!
//! Why the index too: a scanner asks for the referrers of the digest the tag
//! names, which is the index (Trivy's `--sbom-sources oci` does, whatever
//! `--platform` says), and takes the first SBOM it finds there. So the
//! index carries one SBOM that holds for every platform (each platform's
//! file with its hash, the package, every crate, the toolchain's `core`)
//! rather than one per platform, of which a scanner would pick any; the
//! platform manifests keep their own, for the tools that look there.

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

    /// The SBOM of `images` (their inputs alongside): one platform's, or
    /// the index's.
    fn sbom(&self, inputs: &[Input], images: &[Image]) -> xtask::Result<Attachment> {
        let files: Vec<(String, String)> = inputs
            .iter()
            .zip(images)
            .map(|(input, image)| (image.platform.clone(), sha256_hex(&input.binary)))
            .collect();
        let mut crates: Vec<Crate> = Vec::new();
        for input in inputs {
            for krate in &self.crates[rust_target(&input.arch)?] {
                let known = |c: &&Crate| c.name == krate.name && c.version == krate.version;
                if crates.iter().find(known).is_none() {
                    crates.push(krate.clone());
                }
            }
        }
        crates.sort_by(|a, b| (&a.name, &a.version).cmp(&(&b.name, &b.version)));
        let document = sbom::cyclonedx(&sbom::Facts {
            name: &self.name,
            tag: &self.tag,
            path: project::PATH,
            files: &files,
            package: ("pause", &self.package.version, &self.package.license),
            crates: &crates,
            rust_release: &self.rust_release,
            created: &self.created,
        })?;
        Ok(Attachment {
            media_type: sbom::MEDIA_TYPE.into(),
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
        let external = slsa::ExternalParameters {
            command: "make oci".into(),
            platform: Some(image.platform.clone()),
            target: Some(target.into()),
            platforms: None,
            source: self.source.clone(),
            revision: self.revision.clone(),
        };
        let core = slsa::PerPlatform::One(core_library(&input.arch));
        self.statement(subject, external, core, &[target])
    }

    /// The index's provenance: its subject is the index and every
    /// platform's file; its parameters every platform's.
    fn index_provenance(
        &self,
        digest: &str,
        inputs: &[Input],
        images: &[Image],
    ) -> xtask::Result<Attachment> {
        let mut subject = vec![digest_of(&format!("{}:{}", self.name, self.tag), digest)?];
        let mut platforms = BTreeMap::new();
        let mut core = BTreeMap::new();
        let mut targets = Vec::new();
        for (input, image) in inputs.iter().zip(images) {
            let file = format!("{}{}", image.platform, project::PATH);
            subject.push(ResourceDescriptor::named(
                &file,
                "sha256",
                &sha256_hex(&input.binary),
            ));
            let target = rust_target(&input.arch)?;
            platforms.insert(image.platform.clone(), target.to_string());
            core.insert(image.platform.clone(), core_library(&input.arch));
            targets.push(target);
        }
        let external = slsa::ExternalParameters {
            command: "make oci".into(),
            platform: None,
            target: None,
            platforms: Some(platforms),
            source: self.source.clone(),
            revision: self.revision.clone(),
        };
        self.statement(subject, external, slsa::PerPlatform::Each(core), &targets)
    }

    fn statement(
        &self,
        subject: Vec<ResourceDescriptor>,
        external: slsa::ExternalParameters,
        core_library: slsa::PerPlatform<&'static str>,
        targets: &[&str],
    ) -> xtask::Result<Attachment> {
        let predicate = slsa::Provenance {
            build_definition: slsa::BuildDefinition {
                build_type: slsa::build_type(&self.package.version),
                external_parameters: external,
                internal_parameters: slsa::InternalParameters {
                    toolchain: self.toolchain.clone(),
                    core_library,
                    cargo_profile: "release",
                    source_date_epoch: self.epoch,
                },
                resolved_dependencies: self.resolved(targets),
            },
            run_details: slsa::RunDetails {
                builder: slsa::Builder {
                    id: slsa::builder_id(env!("CARGO_PKG_VERSION")),
                },
            },
        };
        let statement = slsa::Statement::new(subject, predicate);
        Ok(Attachment {
            media_type: slsa::MEDIA_TYPE.into(),
            title: "provenance.intoto.json".into(),
            document: xtask::canonical_json(&statement)?,
        })
    }

    /// The commit, the two input files, and each crate compiled in for
    /// any of `targets` (once).
    fn resolved(&self, targets: &[&str]) -> Vec<ResourceDescriptor> {
        let mut commit = ResourceDescriptor::named("source", "gitCommit", &self.revision);
        commit.uri = self.source.as_ref().map(|url| format!("git+{url}"));
        let mut out = vec![commit];
        for (file, sha256) in &self.inputs {
            out.push(ResourceDescriptor::named(file, "sha256", sha256));
        }
        let mut seen = std::collections::BTreeSet::new();
        let crates = targets.iter().flat_map(|t| &self.crates[t]);
        for krate in crates.filter(|k| seen.insert((&k.name, &k.version))) {
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
            self.sbom(std::slice::from_ref(input), std::slice::from_ref(image))?,
            self.provenance(input, image)?,
        ])
    }

    fn index_documents(
        &self,
        digest: &str,
        inputs: &[Input],
        images: &[Image],
    ) -> xtask::Result<Vec<Attachment>> {
        Ok(vec![
            self.sbom(inputs, images)?,
            self.index_provenance(digest, inputs, images)?,
        ])
    }
}

/// Where `arch`'s `core` comes from: rustup's build, or the toolchain's source.
fn core_library(arch: &str) -> &'static str {
    if targets::core_from_source(arch) {
        "rust-src"
    } else {
        "prebuilt"
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
