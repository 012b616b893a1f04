//! The C ABI: a thin, mechanical translation of the Rust core, one module per
//! concept. Every entry point runs inside [`boundary`] (no panic crosses it), checks
//! its pointers and UTF-8, and reports failures through the per-thread last error.
//! `include/teamsop.h` is generated from these items by cbindgen (see `build.rs`).

#![allow(non_camel_case_types)]

mod boundary;
mod client;
mod fetch;
mod last_error;
mod library;
mod operation;
mod types;

pub use client::*;
pub use fetch::*;
pub use last_error::*;
pub use library::*;
pub use operation::*;
pub use types::*;
