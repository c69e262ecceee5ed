//! Not a library to use: the proof that "regenerate when the API changes"
//! survives a spec that only adds things.
//!
//! `build.rs` applies every mutation of `reducto_codegen::evolve` (new enum
//! values, optional fields of every shape, a new operation with awkward
//! schemas, rich descriptions, deprecations and vendor extensions) to the
//! workspace's current `openapi.yaml` and generates [`generated`] with the
//! `reducto` crate's configuration and open enums. That this crate builds
//! under `clippy -D warnings` and `rustdoc -D warnings`, with the same lint
//! allowances as the `reducto` crate's generated module, and that its
//! doctests pass, is half the proof; the tests decode responses that use the
//! new parts.

/// The generated client's hook state (the `reducto` crate uses its own
/// per-call context here).
#[derive(Debug, Clone, Default)]
pub struct Inner;

/// The bindings generated from the evolved spec. The allowances are the
/// `reducto` crate's own for its generated module (`src/generated.rs`), so a
/// warning the evolved spec would cause there is a warning here.
#[allow(
    dead_code,
    missing_docs,
    private_interfaces,
    unused_imports,
    clippy::all,
    clippy::pedantic,
    rustdoc::all
)]
pub mod generated {
    include!(concat!(env!("OUT_DIR"), "/evolved_api.rs"));
}

/// What the build did: mutations applied, operations generated.
pub mod report {
    include!(concat!(env!("OUT_DIR"), "/report.rs"));

    /// The evolved spec the bindings were generated from (OpenAPI 3.1 JSON).
    pub const EVOLVED_SPEC: &str = include_str!(concat!(env!("OUT_DIR"), "/evolved_openapi.json"));
}
