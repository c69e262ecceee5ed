//! Not a library to use: a compile-and-decode check that `reducto-codegen`
//! still handles an OLDER published spec (v1.11.57, 17 operations) than the
//! `openapi.yaml` the `reducto` crate builds from, so the generator's
//! rewrites stay correct for every version they have met, not only the
//! newest.
//!
//! `build.rs` generates the bindings into `OUT_DIR` with the same kind of
//! configuration as the `reducto` crate; this file supplies the types that
//! configuration names (the client's inner state and the open enums), and
//! the tests check the report the build wrote.

/// The generated client's hook state (the `reducto` crate uses its own
/// per-call context here).
#[derive(Debug, Clone, Default)]
pub struct Inner;

/// Minimal stand-ins for the `reducto` crate's open enums: any string,
/// kept as sent, so values a newer API adds still decode.
pub mod open {
    macro_rules! open_string {
        ($($(#[$meta:meta])* $name:ident;)*) => {$(
            $(#[$meta])*
            #[derive(
                Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord,
                serde::Serialize, serde::Deserialize, schemars::JsonSchema,
            )]
            #[serde(transparent)]
            pub struct $name(pub String);

            impl std::fmt::Display for $name {
                fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                    f.write_str(&self.0)
                }
            }

            impl std::str::FromStr for $name {
                type Err = std::convert::Infallible;
                fn from_str(s: &str) -> Result<Self, Self::Err> {
                    Ok($name(s.to_owned()))
                }
            }
        )*};
    }

    // One stand-in for each entry of `reducto_codegen::REDUCTO_OPEN_ENUMS`
    // (written by build.rs, so a new entry needs no edit here).
    include!(concat!(env!("OUT_DIR"), "/open_enums.rs"));
}

/// The bindings generated from the whole spec.
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
    include!(concat!(env!("OUT_DIR"), "/reducto_api.rs"));
}

/// What the generator reported while building [`generated`].
pub mod report {
    include!(concat!(env!("OUT_DIR"), "/report.rs"));
}
