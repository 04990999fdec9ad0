//! Archlens: inspect and edit multi-architecture container images in OCI and Docker
//! registries.
//!
//! `model` is pure data and rules; `registry` is all I/O; `cli` is the command line.

pub mod cli;
pub mod model;
pub mod registry;
