//! The low-level bindings progenitor generates from `openapi.yaml` at build
//! time (see `build.rs`). Private: the handwritten modules wrap the client,
//! and [`crate::types`] re-exports the types.
//
// `dead_code`: the module is generated from the whole spec; a helper typify
// emits for one schema (a `defaults::` function) may have no caller once the
// rewrites are applied. Scoped to this module only; the handwritten layer
// stays under the lint.
#![allow(
    dead_code,
    missing_docs,
    private_interfaces,
    unused_imports,
    clippy::all,
    clippy::pedantic,
    rustdoc::all
)]

include!(concat!(env!("OUT_DIR"), "/reducto_api.rs"));
