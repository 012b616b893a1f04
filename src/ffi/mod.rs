//! The C ABI: a thin, mechanical translation of the Rust core, one module per
//! concept. Every entry point runs inside one of the `boundary` functions (no
//! panic crosses it), reads its handles through `handle::Handle` and its strings
//! through `args`, and reports failures through the per-thread last error.
//! `include/teamsop.h` is generated from these items by cbindgen (see `build.rs`).
//!
//! The order of the `mod` lines below is the order of the functions in the header.

#![allow(non_camel_case_types)]

mod args;
mod batch;
mod boundary;
mod cancel;
mod client;
mod enums;
mod error_record;
mod fetch;
mod handle;
mod last_error;
mod library;
mod logging;
mod operation;
mod token_provider;
mod types;

pub use batch::*;
pub use cancel::*;
pub use client::*;
pub use enums::*;
pub use fetch::*;
pub use last_error::*;
pub use library::*;
pub use logging::*;
pub use operation::*;
pub use token_provider::*;
pub use types::*;
