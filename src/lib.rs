//! Archlens: inspect and edit multi-architecture container images in OCI and Docker
//! registries.
//!
//! `model` is pure data and rules; `registry` is all I/O; the `archlens` binary adds the command line.

// Library code may not unwrap, expect, index unchecked or panic outside tests, except where a
// comment at an `allow` proves it cannot fire.
#![cfg_attr(not(test), warn(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic))]

pub mod model;
pub mod protocol;
pub mod registry;
pub mod settings;
pub mod state;
pub mod testkit;
#[cfg(feature = "gui")]
pub mod ui;
pub mod worker;
