//! The API's request and response types.
//!
//! Almost all are generated from `openapi.yaml` at build time (and derive
//! serde's traits and [`schemars::JsonSchema`]). The exceptions are the
//! string enums a newer API may extend — [`JobStatus`], [`JobType`] and
//! [`BlockType`] — which are written here so that a value this version does
//! not know decodes into `Other(String)` instead of failing the response.
//!
//! ```
//! use reducto::types::{JobStatus, ParseResponse};
//!
//! let status: JobStatus = serde_json::from_str("\"Archived\"").unwrap();
//! assert_eq!(status, JobStatus::Other("Archived".into()));
//! assert_eq!(status.to_string(), "Archived");
//!
//! // Every type can describe itself as a JSON Schema.
//! let schema = schemars::schema_for!(ParseResponse);
//! assert!(serde_json::to_string(&schema).unwrap().contains("chunks"));
//! ```

pub use crate::generated::types::*;

/// Declares a string enum that keeps unknown values as `Other(String)`.
macro_rules! open_enum {
    (
        $(#[$meta:meta])*
        $name:ident {
            $( $(#[$vmeta:meta])* $variant:ident = $value:literal, )*
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum $name {
            $( $(#[$vmeta])* $variant, )*
            /// A value this version of the crate does not know, kept as sent.
            Other(String),
        }

        impl $name {
            /// Every value this version knows, as the API spells it.
            pub const KNOWN: &'static [&'static str] = &[$($value),*];

            /// The value as the API spells it.
            pub fn as_str(&self) -> &str {
                match self {
                    $( $name::$variant => $value, )*
                    $name::Other(other) => other,
                }
            }
        }

        impl From<&str> for $name {
            fn from(value: &str) -> Self {
                match value {
                    $( $value => $name::$variant, )*
                    other => $name::Other(other.to_owned()),
                }
            }
        }

        impl From<String> for $name {
            fn from(value: String) -> Self {
                match $name::from(value.as_str()) {
                    $name::Other(_) => $name::Other(value),
                    known => known,
                }
            }
        }

        impl std::str::FromStr for $name {
            type Err = std::convert::Infallible;
            fn from_str(value: &str) -> Result<Self, Self::Err> {
                Ok($name::from(value))
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl serde::Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(self.as_str())
            }
        }

        impl<'de> serde::Deserialize<'de> for $name {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                String::deserialize(d).map($name::from)
            }
        }

        impl schemars::JsonSchema for $name {
            fn schema_name() -> std::borrow::Cow<'static, str> {
                stringify!($name).into()
            }

            fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
                // Open: the known values are examples, not a closed enum.
                schemars::json_schema!({
                    "type": "string",
                    "examples": [$($value),*],
                })
            }
        }
    };
}

open_enum! {
    /// The state of a job. `GET /job` documents the first four; `GET /jobs`
    /// adds `InProgress`, `Completing` and `Cancelled`.
    JobStatus {
        /// Queued or running.
        Pending = "Pending",
        /// Waiting for capacity.
        Idle = "Idle",
        /// Running.
        InProgress = "InProgress",
        /// Finishing up.
        Completing = "Completing",
        /// Done; the job carries its result.
        Completed = "Completed",
        /// Ended with an error; the job carries its reason.
        Failed = "Failed",
        /// Cancelled; it will never complete.
        Cancelled = "Cancelled",
    }
}

impl JobStatus {
    /// Whether the job has ended and will not change again. Unknown statuses
    /// are not terminal: a waiter keeps polling through them.
    pub fn is_terminal(&self) -> bool {
        matches!(
            self,
            JobStatus::Completed | JobStatus::Failed | JobStatus::Cancelled
        )
    }
}

open_enum! {
    /// What kind of work a job does.
    JobType {
        /// `/parse`, `/parse_async`.
        Parse = "Parse",
        /// `/extract`.
        Extract = "Extract",
        /// `/split`.
        Split = "Split",
        /// `/edit`.
        Edit = "Edit",
        /// `/pipeline`.
        Pipeline = "Pipeline",
        /// `/classify`.
        Classify = "Classify",
        /// Chart extraction (new in v1.12.20).
        Chart = "Chart",
    }
}

open_enum! {
    /// The kind of a block in a parse result.
    BlockType {
        /// A page header.
        Header = "Header",
        /// A page footer.
        Footer = "Footer",
        /// The document's title.
        Title = "Title",
        /// A section heading.
        SectionHeader = "Section Header",
        /// A page number.
        PageNumber = "Page Number",
        /// An item of a list.
        ListItem = "List Item",
        /// A figure or chart.
        Figure = "Figure",
        /// A table.
        Table = "Table",
        /// A key-value pair (forms).
        KeyValue = "Key Value",
        /// Running text.
        Text = "Text",
        /// A comment or annotation.
        Comment = "Comment",
        /// A signature.
        Signature = "Signature",
    }
}

pub use crate::job_result::{Job, JobResult};

/// One job of a `GET /jobs` listing.
pub type JobSummary = SingleJob;

/// A parse result: inline (`Full`) or, when too large, a URL (`Url`).
pub type ParseResult = ParseResponseResult;

#[cfg(test)]
mod tests {
    use super::*;

    mod spec {
        include!(concat!(env!("OUT_DIR"), "/spec_enum_values.rs"));
    }

    /// When openapi.yaml gains a value, this fails until the enum learns it
    /// (the value would still decode, as `Other`, but deserves a variant).
    #[test]
    fn open_enums_know_every_value_the_spec_lists() {
        for (name, spec_values, known) in [
            ("JobStatus", spec::JOBSTATUS, JobStatus::KNOWN),
            ("JobType", spec::JOBTYPE, JobType::KNOWN),
            ("BlockType", spec::BLOCKTYPE, BlockType::KNOWN),
        ] {
            for value in spec_values {
                assert!(
                    known.contains(value),
                    "{name} lacks a variant for {value:?}"
                );
            }
        }
    }

    #[test]
    fn values_round_trip_known_and_unknown() {
        for raw in JobStatus::KNOWN.iter().chain(&["Archived", ""]) {
            let parsed: JobStatus = serde_json::from_value(serde_json::json!(raw)).unwrap();
            assert_eq!(parsed.as_str(), *raw);
            assert_eq!(
                serde_json::to_value(&parsed).unwrap(),
                serde_json::json!(raw)
            );
        }
        assert_eq!(BlockType::from("Section Header"), BlockType::SectionHeader);
        assert_eq!(
            BlockType::from("Sidebar"),
            BlockType::Other("Sidebar".into())
        );
        assert!(JobStatus::Cancelled.is_terminal());
        assert!(!JobStatus::Other("Archived".into()).is_terminal());
    }
}
