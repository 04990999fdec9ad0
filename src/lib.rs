//! Archlens: inspect and edit multi-architecture container images in OCI and Docker
//! registries.
//!
//! `model` is pure data and rules; `registry` is all I/O; the `archlens` binary adds the command line.

// No unwrap, expect, unchecked indexing or panic outside tests: `[lints]` in Cargo.toml, for
// the library and the binary alike.

pub mod model;
pub mod protocol;
pub mod registry;
pub mod settings;
pub mod state;
pub mod testkit;
#[cfg(feature = "gui")]
pub mod ui;
pub mod worker;
