//! Pure data: references, digests, platforms, manifests and the platform matrix.
//! Nothing in here does I/O.

pub mod binary;
pub mod compose;
pub mod coverage;
pub mod diagnose;
pub mod diff;
pub mod digest;
pub mod exec;
pub mod files;
pub mod hub;
pub mod manifest;
pub mod matrix;
pub mod platform;
pub mod reference;
pub mod rootfs;
pub mod supply;
pub mod units;
pub mod version;

pub use digest::Digest;
pub use manifest::{Descriptor, ImageConfig, ManifestKind, ManifestView};
pub use platform::Platform;
pub use reference::{Reference, Registry, Repository};
