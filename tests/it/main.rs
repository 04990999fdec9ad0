//! The integration tests in one binary: one build, one link, and one throwaway registry shared
//! by every module (each names its repositories after itself). The app's UI tests and the
//! tests that set process environment variables (the worker's) stay binaries of their own.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)] // A test states what it expects by unwrapping: failing is its job.

#[path = "../common/mod.rs"]
mod common;

mod auth;
mod cli_registry;
mod compose;
mod compose_edit;
mod coverage;
mod demo_layout;
mod diag_corpus;
mod diagnose;
mod diff;
mod faults;
mod fixtures;
mod fuzz;
mod hub;
mod keychain;
mod layering;
mod local_input;
mod packaging;
mod registry_library;
mod store;
mod tls;
mod token_auth;
mod writers;
