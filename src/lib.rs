//! Archlens: inspect and edit multi-architecture container images in OCI and Docker
//! registries.
//!
//! `model` is pure data and rules; `registry` is all I/O; the `archlens` binary adds the command line.

pub mod testkit;
pub mod model;
pub mod registry;
pub mod settings;
pub mod state;
pub mod ui;
pub mod worker;
