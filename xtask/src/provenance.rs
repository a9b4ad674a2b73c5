//! The provenance of one image: an in-toto Statement v1 whose predicate is
//! SLSA Provenance v1, as typed structs. No crate keeps SLSA v1 types (the
//! `in-toto` crate stops at SLSA 0.2), and these are the few fields used.
//!
//! It is what the build itself asserts (SLSA Build L1): which commit and
//! inputs, which command and toolchain, which outputs. Its only time is the
//! commit's, and it names no path of the machine that built it.

use serde::Serialize;
use std::collections::BTreeMap;

/// The media type of the document, and the referrer's `artifactType`.
pub const MEDIA_TYPE: &str = "application/vnd.in-toto+json";
const STATEMENT_TYPE: &str = "https://in-toto.io/Statement/v1";
const PREDICATE_TYPE: &str = "https://slsa.dev/provenance/v1";
/// The page that describes the build (inputs, command, parameters, what is
/// reproducible), as a path in the repository.
pub const BUILD_TYPE_PAGE: &str = "xtask/build-type.md";

/// How an image of this project is built: `make oci` at a commit, every
/// parameter below, as the page [`BUILD_TYPE_PAGE`] describes. Named by the
/// package URL of the pause package at `version` with the page as its
/// subpath: a URI that points into the very source it describes on any
/// host, where a web address would tie it to one (none is known here).
pub fn build_type(version: &str) -> String {
    format!("pkg:cargo/pause@{version}#{BUILD_TYPE_PAGE}")
}

/// Who ran the build: the `xtask` crate of the repository (`xtask/`) at
/// `xtask_version`, and how to run it again (`make oci`). Whoever ran it;
/// nothing stronger is claimed (SLSA Build L1).
pub fn builder_id(xtask_version: &str) -> String {
    format!("pkg:cargo/xtask@{xtask_version}?rerun=make%20oci#xtask")
}

/// A digest set, e.g. `{"sha256": "..."}` or `{"gitCommit": "..."}`.
pub type DigestSet = BTreeMap<String, String>;

#[derive(Serialize, Debug)]
pub struct Statement {
    #[serde(rename = "_type")]
    pub statement_type: &'static str,
    pub subject: Vec<ResourceDescriptor>,
    #[serde(rename = "predicateType")]
    pub predicate_type: &'static str,
    pub predicate: Provenance,
}

#[derive(Serialize, Debug)]
#[serde(rename_all = "camelCase")]
pub struct Provenance {
    pub build_definition: BuildDefinition,
    pub run_details: RunDetails,
}

#[derive(Serialize, Debug)]
#[serde(rename_all = "camelCase")]
pub struct BuildDefinition {
    pub build_type: String,
    pub external_parameters: ExternalParameters,
    pub internal_parameters: InternalParameters,
    pub resolved_dependencies: Vec<ResourceDescriptor>,
}

/// What the person building chose.
#[derive(Serialize, Debug)]
#[serde(rename_all = "camelCase")]
pub struct ExternalParameters {
    /// `make oci`.
    pub command: String,
    /// A platform image's platform and the Rust target its binary is built
    /// for; the index's statement has `platforms` instead.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub platform: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub target: Option<String>,
    /// Every platform of the index, with its Rust target.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub platforms: Option<BTreeMap<String, String>>,
    /// The repository URL, absent when it is not one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
    pub revision: String,
}

/// What the build decided by itself.
#[derive(Serialize, Debug)]
#[serde(rename_all = "camelCase")]
pub struct InternalParameters {
    /// `rustc -Vv`, verbatim.
    pub toolchain: String,
    /// `prebuilt` (rustup's rust-std) or `rust-src` (`-Zbuild-std=core`);
    /// in the index's statement, for each platform.
    pub core_library: PerPlatform<&'static str>,
    pub cargo_profile: &'static str,
    /// Every timestamp of the archive (`SOURCE_DATE_EPOCH`): the commit's time.
    pub source_date_epoch: i64,
}

/// A value of one platform's statement, or of each platform in the index's.
#[derive(Serialize, Debug)]
#[serde(untagged)]
pub enum PerPlatform<T> {
    One(T),
    Each(BTreeMap<String, T>),
}

#[derive(Serialize, Debug, Clone, Default)]
#[serde(rename_all = "camelCase")]
pub struct ResourceDescriptor {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub uri: Option<String>,
    pub digest: DigestSet,
}

#[derive(Serialize, Debug)]
#[serde(rename_all = "camelCase")]
pub struct RunDetails {
    pub builder: Builder,
}

#[derive(Serialize, Debug)]
pub struct Builder {
    pub id: String,
}

impl Statement {
    pub fn new(subject: Vec<ResourceDescriptor>, predicate: Provenance) -> Self {
        Statement {
            statement_type: STATEMENT_TYPE,
            subject,
            predicate_type: PREDICATE_TYPE,
            predicate,
        }
    }
}

impl ResourceDescriptor {
    /// A resource known by name and one digest.
    pub fn named(name: &str, algorithm: &str, digest: &str) -> Self {
        ResourceDescriptor {
            name: Some(name.into()),
            uri: None,
            digest: BTreeMap::from([(algorithm.into(), digest.into())]),
        }
    }
}
