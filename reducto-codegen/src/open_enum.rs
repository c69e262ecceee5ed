//! Source code for the open enums: string enums whose variants come from the
//! values the spec lists at build time, and which keep any other value as
//! `Other(String)` instead of failing to decode.
//!
//! [`crate::hoist_open_enums`] collects each enum's values from the spec;
//! [`source`] turns them into Rust (variants, `KNOWN`, `as_str`, `From`,
//! `FromStr`, `Display`, serde and `schemars::JsonSchema`). Nothing is edited
//! by hand when the spec adds a value: the next build has its variant.
//!
//! Docs come from [`OpenEnumDocs`]: one for the enum, one per value where the
//! table has it, and a generic one for values the table does not know yet.

use std::fmt::Write as _;

use crate::{Error, HoistedEnum, OpenEnumEntry};

/// The handwritten docs of one open enum.
#[derive(Debug, Clone, Copy)]
pub struct OpenEnumDocs {
    /// The enum's rustdoc (first line a summary).
    pub doc: &'static str,
    /// Doc of each value, keyed by the value as the API spells it. A value
    /// the spec lists but this table lacks gets a generic doc.
    pub values: &'static [(&'static str, &'static str)],
}

/// The Rust variant name of a value as the API spells it: words split on
/// anything not alphanumeric, each capitalised (`Section Header` ->
/// `SectionHeader`, `TIMEOUT` -> `Timeout`, `R-1` -> `R1`, `InProgress`
/// kept). A value starting with a digit is prefixed with `Value`.
pub fn variant_name(value: &str) -> String {
    let mut name = String::new();
    for word in value.split(|c: char| !c.is_ascii_alphanumeric()) {
        let mut chars = word.chars();
        let Some(first) = chars.next() else { continue };
        name.push(first.to_ascii_uppercase());
        let rest: String = chars.collect();
        // SHOUTING words read as words; CamelCase words keep their humps.
        if word.chars().all(|c| !c.is_ascii_lowercase()) {
            name.push_str(&rest.to_ascii_lowercase());
        } else {
            name.push_str(&rest);
        }
    }
    if name.starts_with(|c: char| c.is_ascii_digit()) {
        name.insert_str(0, "Value");
    }
    name
}

/// Rust source of one open enum named `name` with the given `values` (in the
/// spec's order). `doc_path` is the path user code names the enum by, for
/// the doctest in its docs (`reducto::types`).
///
/// Fails if two values map to the same variant name, if a value maps to no
/// name at all, or if a value is named `Other` (the catch-all variant).
pub fn source(
    name: &str,
    values: &[String],
    docs: &OpenEnumDocs,
    doc_path: &str,
) -> Result<String, Error> {
    let mut variants: Vec<(String, &str)> = Vec::new();
    for value in values {
        let variant = variant_name(value);
        if variant.is_empty() || variant == "Other" {
            return Err(Error::OpenEnum(format!(
                "{name}: the value {value:?} has no usable variant name"
            )));
        }
        if let Some((_, clash)) = variants.iter().find(|(v, _)| *v == variant) {
            return Err(Error::OpenEnum(format!(
                "{name}: the values {clash:?} and {value:?} both become variant {variant}"
            )));
        }
        variants.push((variant, value));
    }

    let known_arm = variants
        .first()
        .map(|(variant, _)| format!("    {name}::{variant} => {{}}\n"))
        .unwrap_or_default();
    let enum_doc = format!(
        "{doc}\n\n\
         Open and `#[non_exhaustive]`: its variants are the values the API's spec \
         lists; any other value decodes as [`{name}::Other`], kept as sent, and a \
         later release may add variants. To match a value this version does not \
         know, compare its text, which keeps working when the value gains a \
         variant:\n\n\
         ```\n\
         use {doc_path}::{name};\n\n\
         let value: {name} = serde_json::from_str(\"\\\"SomethingNew\\\"\").unwrap();\n\
         assert_eq!(value, {name}::Other(\"SomethingNew\".into()));\n\
         assert!(value.as_str() == \"SomethingNew\");\n\
         assert_eq!(value.to_string(), \"SomethingNew\");\n\
         assert!({name}::KNOWN.iter().all(|v| !matches!({name}::from(*v), {name}::Other(_))));\n\
         match value {{\n\
         {known_arm}    \
             ref other if other.as_str() == \"SomethingNew\" => {{}}\n    \
             _ => unreachable!(),\n\
         }}\n\
         ```",
        doc = docs.doc,
    );

    let mut out = String::new();
    let w = &mut out;
    let _ = writeln!(w, "#[doc = {enum_doc:?}]");
    let _ = writeln!(
        w,
        "#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]\n\
         #[non_exhaustive]\npub enum {name} {{"
    );
    for (variant, value) in &variants {
        let doc = docs.values.iter().find(|(v, _)| v == value).map_or_else(
            || format!("`{value}`, as the API spells it."),
            |(_, d)| (*d).to_owned(),
        );
        let _ = writeln!(w, "#[doc = {doc:?}]\n{variant},");
    }
    let _ = writeln!(
        w,
        "/// A value this version of the crate does not know, kept as sent.\n\
         Other(::std::string::String),\n}}"
    );

    let known: Vec<String> = variants.iter().map(|(_, v)| format!("{v:?}")).collect();
    let as_str: String = variants
        .iter()
        .map(|(variant, value)| format!("{name}::{variant} => {value:?},"))
        .collect();
    let from_str: String = variants
        .iter()
        .map(|(variant, value)| format!("{value:?} => {name}::{variant},"))
        .collect();
    let _ = writeln!(
        w,
        r#"
impl {name} {{
    /// Every value this version knows, as the API spells it, in the spec's order.
    pub const KNOWN: &'static [&'static str] = &[{known}];

    /// The value as the API spells it.
    pub fn as_str(&self) -> &str {{
        match self {{
            {as_str}
            {name}::Other(other) => other,
        }}
    }}
}}

impl ::std::convert::From<&str> for {name} {{
    fn from(value: &str) -> Self {{
        match value {{
            {from_str}
            other => {name}::Other(other.to_owned()),
        }}
    }}
}}

impl ::std::convert::From<::std::string::String> for {name} {{
    fn from(value: ::std::string::String) -> Self {{
        match {name}::from(value.as_str()) {{
            {name}::Other(_) => {name}::Other(value),
            known => known,
        }}
    }}
}}

impl ::std::str::FromStr for {name} {{
    type Err = ::std::convert::Infallible;
    fn from_str(value: &str) -> ::std::result::Result<Self, Self::Err> {{
        Ok({name}::from(value))
    }}
}}

impl ::std::fmt::Display for {name} {{
    fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {{
        f.write_str(self.as_str())
    }}
}}

impl ::serde::Serialize for {name} {{
    fn serialize<S: ::serde::Serializer>(&self, s: S) -> ::std::result::Result<S::Ok, S::Error> {{
        s.serialize_str(self.as_str())
    }}
}}

impl<'de> ::serde::Deserialize<'de> for {name} {{
    fn deserialize<D: ::serde::Deserializer<'de>>(d: D) -> ::std::result::Result<Self, D::Error> {{
        <::std::string::String as ::serde::Deserialize>::deserialize(d).map({name}::from)
    }}
}}

impl ::schemars::JsonSchema for {name} {{
    fn schema_name() -> ::std::borrow::Cow<'static, str> {{
        {name:?}.into()
    }}

    fn json_schema(_: &mut ::schemars::SchemaGenerator) -> ::schemars::Schema {{
        // Open: the known values are examples, not a closed enum.
        ::schemars::json_schema!({{
            "type": "string",
            "examples": {name}::KNOWN,
        }})
    }}
}}
"#,
        known = known.join(", "),
    );
    Ok(out)
}

/// Formatted Rust source of every open enum in `hoisted`, with docs from
/// `entries` (by enum name; an enum missing there gets a generic doc).
pub fn source_file(
    hoisted: &[HoistedEnum],
    entries: &[OpenEnumEntry],
    doc_path: &str,
) -> Result<String, Error> {
    let mut text = String::new();
    for open in hoisted {
        let generic = OpenEnumDocs {
            doc: "A string enum of the API.",
            values: &[],
        };
        let docs = entries
            .iter()
            .find(|e| e.name == open.name)
            .map_or(generic, |e| e.docs);
        text.push_str(&source(open.name, &open.values, &docs, doc_path)?);
    }
    let file = syn::parse_file(&text)?;
    Ok(prettyplease::unparse(&file))
}

#[cfg(test)]
mod tests {
    use super::*;

    const DOCS: OpenEnumDocs = OpenEnumDocs {
        doc: "A status.",
        values: &[("Pending", "Queued.")],
    };

    fn values(list: &[&str]) -> Vec<String> {
        list.iter().map(|v| (*v).to_owned()).collect()
    }

    #[test]
    fn variant_names_read_as_a_person_would_write_them() {
        for (value, variant) in [
            ("Pending", "Pending"),
            ("InProgress", "InProgress"),
            ("Section Header", "SectionHeader"),
            ("CAPACITY_TIMEOUT", "CapacityTimeout"),
            ("R-1", "R1"),
            ("page_sections", "PageSections"),
            ("3d", "Value3d"),
        ] {
            assert_eq!(variant_name(value), variant, "{value}");
        }
    }

    #[test]
    fn every_value_gets_a_variant_a_doc_and_its_spelling() {
        let code = source("Status", &values(&["Pending", "Archived Soon"]), &DOCS, "x").unwrap();
        let file = syn::parse_file(&code).unwrap();
        let syn::Item::Enum(e) = &file.items[0] else {
            panic!("the enum comes first")
        };
        let names: Vec<String> = e.variants.iter().map(|v| v.ident.to_string()).collect();
        assert_eq!(names, ["Pending", "ArchivedSoon", "Other"]);
        assert!(code.contains(r#"#[doc = "Queued."]"#));
        // No entry in the table: the generic doc, never a missing one.
        assert!(code.contains(r#"#[doc = "`Archived Soon`, as the API spells it."]"#));
        assert!(code.contains(r#"Status::ArchivedSoon => "Archived Soon","#));
        assert!(code.contains(r#"&["Pending", "Archived Soon"]"#));
        assert!(code.contains("#[non_exhaustive]"));
    }

    #[test]
    fn clashing_or_unnameable_values_are_errors_not_bad_code() {
        for bad in [&["in progress", "In_Progress"][..], &["Other"], &["--"]] {
            let err = source("Status", &values(bad), &DOCS, "x").unwrap_err();
            assert!(matches!(err, Error::OpenEnum(_)), "{bad:?}: {err}");
        }
    }

    #[test]
    fn the_file_parses_and_formats() {
        let hoisted = [HoistedEnum {
            name: "Kind",
            values: values(&["a", "b"]),
            missing: Vec::new(),
        }];
        let text = source_file(&hoisted, &[], "x").unwrap();
        assert!(text.contains("pub enum Kind"));
        assert!(text.contains("A string enum of the API."));
    }
}
