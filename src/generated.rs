//! The low-level bindings progenitor generates from `openapi.yaml` at build
//! time (see `build.rs`). Private: the handwritten modules wrap the client,
//! and [`crate::types`] re-exports the types.
#![allow(
    missing_docs,
    private_interfaces,
    unused_imports,
    clippy::all,
    clippy::pedantic,
    rustdoc::all
)]

include!(concat!(env!("OUT_DIR"), "/reducto_api.rs"));
