//! Operation options: typed structs read from a request's custom body (YAML or JSON), with the
//! validators translators share so they accept and refuse alike.
//!
//! A translator declares its options as a struct with `#[serde(deny_unknown_fields, default)]`
//! and reads it with [`parse`]; the field validators in [`valid`] (`deserialize_with`) check DNS
//! names, image repositories and wait seconds the same way in every translator.
//!
//! ```
//! use serde::Deserialize;
//! use wasmesh_sdk::options::{self, OptionsError};
//!
//! #[derive(Debug, Deserialize)]
//! #[serde(deny_unknown_fields, default, rename_all = "camelCase")]
//! struct Install {
//!     #[serde(deserialize_with = "options::valid::wait_seconds")]
//!     wait_seconds: u32,
//!     #[serde(deserialize_with = "options::valid::image_repository")]
//!     registry: String,
//! }
//! impl Default for Install {
//!     fn default() -> Self {
//!         Install { wait_seconds: options::DEFAULT_WAIT_SECONDS, registry: "docker.io/mymesh".into() }
//!     }
//! }
//!
//! let o: Install = options::parse("waitSeconds: 60").unwrap();
//! assert_eq!((o.wait_seconds, o.registry.as_str()), (60, "docker.io/mymesh"));
//! match options::parse::<Install>("colour: blue") {
//!     Err(OptionsError::UnknownKey { key, known }) => assert_eq!((key.as_str(), known), ("colour", &["waitSeconds", "registry"][..])),
//!     other => panic!("{other:?}"),
//! }
//! assert!(matches!(options::parse::<Install>("waitSeconds: 0"), Err(OptionsError::BadValue { .. })));
//! ```

use serde::de::{self, DeserializeOwned, Deserializer, Visitor};
use serde_json::{Map, Value};

/// The fewest seconds an install may wait for its workloads.
pub const MIN_WAIT_SECONDS: u32 = 1;
/// The most seconds an install may wait for its workloads (an hour).
pub const MAX_WAIT_SECONDS: u32 = 3600;
/// The seconds an install waits when the options do not say (istioctl and linkerd wait five
/// minutes too).
pub const DEFAULT_WAIT_SECONDS: u32 = 300;

/// What is wrong with a body of options. Each translator turns it into its own error, with
/// its code.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OptionsError {
    /// The body is not a YAML or JSON mapping.
    Syntax(String),
    /// A key the options struct does not have; `known` lists the ones it has.
    UnknownKey {
        key: String,
        known: &'static [&'static str],
    },
    /// A value of the wrong type or out of range.
    BadValue { key: String, problem: String },
}

impl std::fmt::Display for OptionsError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            OptionsError::Syntax(why) => write!(f, "{why}"),
            OptionsError::UnknownKey { key, known } => {
                write!(
                    f,
                    "unknown option \"{}\" (known: {})",
                    key.escape_debug(),
                    known.join(", ")
                )
            }
            OptionsError::BadValue { key, problem } => write!(f, "invalid option {key}: {problem}"),
        }
    }
}

/// Reads options from a body: empty (every default), or a YAML or JSON mapping. A key the
/// struct does not name is refused whatever its value; a null value means the default.
pub fn parse<T: DeserializeOwned>(body: &str) -> Result<T, OptionsError> {
    let map = crate::yaml::parse_mapping(body).map_err(OptionsError::Syntax)?;
    let known = fields::<T>();
    if let Some(key) = map.keys().find(|k| !known.contains(&k.as_str())) {
        return Err(OptionsError::UnknownKey {
            key: key.clone(),
            known,
        });
    }
    let set: Map<String, Value> = map.into_iter().filter(|(_, v)| !v.is_null()).collect();
    serde_json::from_value(Value::Object(set.clone())).map_err(|whole| {
        // Name the key whose value is refused: the first that is refused on its own.
        for (key, value) in &set {
            let one = Map::from_iter([(key.clone(), value.clone())]);
            if let Err(e) = serde_json::from_value::<T>(Value::Object(one)) {
                return OptionsError::BadValue {
                    key: key.clone(),
                    problem: e.to_string(),
                };
            }
        }
        OptionsError::BadValue {
            key: String::new(),
            problem: whole.to_string(),
        }
    })
}

/// The field names a struct deserializes (as serde's derive lists them).
pub fn fields<T: DeserializeOwned>() -> &'static [&'static str] {
    struct Fields(Option<&'static [&'static str]>);
    #[derive(Debug)]
    struct Stop;
    impl std::fmt::Display for Stop {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("stop")
        }
    }
    impl std::error::Error for Stop {}
    impl de::Error for Stop {
        fn custom<M: std::fmt::Display>(_: M) -> Self {
            Stop
        }
    }
    impl<'de> Deserializer<'de> for &mut Fields {
        type Error = Stop;
        fn deserialize_any<V: Visitor<'de>>(self, _: V) -> Result<V::Value, Stop> {
            Err(Stop)
        }
        fn deserialize_struct<V: Visitor<'de>>(
            self,
            _: &'static str,
            fields: &'static [&'static str],
            _: V,
        ) -> Result<V::Value, Stop> {
            self.0 = Some(fields);
            Err(Stop)
        }
        serde::forward_to_deserialize_any! {
            bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string bytes byte_buf option
            unit unit_struct newtype_struct seq tuple tuple_struct map enum identifier ignored_any
        }
    }
    let mut probe = Fields(None);
    let _ = T::deserialize(&mut probe);
    probe.0.unwrap_or(&[])
}

/// `deserialize_with` validators for option fields.
pub mod valid {
    use super::*;

    /// A whole number of seconds from [`MIN_WAIT_SECONDS`] to [`MAX_WAIT_SECONDS`].
    pub fn wait_seconds<'de, D: Deserializer<'de>>(d: D) -> Result<u32, D::Error> {
        let v = Value::deserialize(d)?;
        let range = format!("a whole number of seconds from {MIN_WAIT_SECONDS} to {MAX_WAIT_SECONDS}");
        match v.as_u64() {
            Some(n) if (u64::from(MIN_WAIT_SECONDS)..=u64::from(MAX_WAIT_SECONDS)).contains(&n) => Ok(n as u32),
            Some(n) => Err(de::Error::custom(format!("{n} is out of range: give {range}"))),
            None => Err(de::Error::custom(format!("{v} is {}, not {range}", kind(&v)))),
        }
    }

    /// A lowercase DNS name ([`is_dns_name`]).
    pub fn dns_name<'de, D: Deserializer<'de>>(d: D) -> Result<String, D::Error> {
        let s = string(d)?;
        if is_dns_name(&s) {
            Ok(s)
        } else {
            Err(de::Error::custom(format!(
                "\"{}\" is not a lowercase DNS name",
                s.escape_debug()
            )))
        }
    }

    /// An image repository ([`image_repository`](super::image_repository)), without a
    /// trailing `/`.
    pub fn image_repository<'de, D: Deserializer<'de>>(d: D) -> Result<String, D::Error> {
        let s = string(d)?;
        super::image_repository(&s).map_err(|p| de::Error::custom(format!("\"{}\": {p}", s.escape_debug())))
    }

    /// A string (not a number or anything else).
    pub fn string<'de, D: Deserializer<'de>>(d: D) -> Result<String, D::Error> {
        match Value::deserialize(d)? {
            Value::String(s) => Ok(s),
            other => Err(de::Error::custom(format!("{other} is {}, not a string", kind(&other)))),
        }
    }

    use serde::Deserialize;
}

/// What a JSON value is, as messages say it.
pub fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "a mapping",
    }
}

/// The one DNS-name check: a lowercase RFC 1123 name of at most 253 characters, dot-separated
/// labels of letters, digits and '-' (neither first nor last), at most 63 each. A namespace
/// name is one label ([`crate::plan::is_namespace_name`]).
pub fn is_dns_name(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 253
        && s.split('.').all(|l| {
            !l.is_empty()
                && l.len() <= 63
                && !l.starts_with('-')
                && !l.ends_with('-')
                && l.bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        })
}

/// An image repository prefix such as `registry.example.com:5000/mesh` (where a mirror of an
/// air-gapped cluster keeps a mesh's images): no scheme, no tag or digest, only the characters
/// image references use. Returns it without a trailing `/`, or what is wrong with it.
pub fn image_repository(s: &str) -> Result<String, String> {
    let r = s.trim().trim_end_matches('/');
    if r.is_empty() {
        return Err("it is empty".into());
    }
    if r.contains("://") {
        return Err("it has a URL scheme".into());
    }
    if let Some(c) = r.chars().find(|c| !(c.is_ascii_alphanumeric() || "._-/:".contains(*c))) {
        return Err(format!("it contains {c:?}"));
    }
    // A colon is a port in the first segment (registry:5000/x), a tag anywhere after it.
    let tagged = r.contains('@') || (r.contains('/') && r.rsplit('/').next().is_some_and(|last| last.contains(':')));
    if tagged {
        return Err("it names a tag; the adapter pins every image's tag itself".into());
    }
    Ok(r.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn repositories_with_ports_and_paths_pass_schemes_tags_and_odd_characters_do_not() {
        for (given, want) in [
            ("cr.l5d.io/linkerd", "cr.l5d.io/linkerd"),
            ("mirror.local:5000/l5d/", "mirror.local:5000/l5d"),
            (" docker.io/istio ", "docker.io/istio"),
            ("localhost:5000", "localhost:5000"),
        ] {
            assert_eq!(image_repository(given).as_deref(), Ok(want), "{given}");
        }
        for (given, says) in [
            ("", "empty"),
            ("https://docker.io/istio", "scheme"),
            ("docker.io/istio/pilot:1.27.3", "tag"),
            ("docker.io/istio@sha256:abc", "'@'"),
            ("a b", "contains ' '"),
        ] {
            let e = image_repository(given).unwrap_err();
            assert!(e.contains(says), "{given}: {e}");
        }
    }

    #[test]
    fn dns_names() {
        for good in ["cluster.local", "a", "mesh-1.example.com", &"a".repeat(63)] {
            assert!(is_dns_name(good), "{good}");
        }
        for bad in [
            "",
            "Cluster.local",
            "a..b",
            "-a",
            "a-",
            "a_b",
            &"a".repeat(64),
            &format!("{}.x", "a.".repeat(126)),
        ] {
            assert!(!is_dns_name(bad), "{bad}");
        }
    }

    #[derive(Debug, serde::Deserialize, PartialEq)]
    #[serde(deny_unknown_fields, default, rename_all = "camelCase")]
    struct Demo {
        #[serde(deserialize_with = "valid::wait_seconds")]
        wait_seconds: u32,
        #[serde(deserialize_with = "valid::dns_name")]
        trust_domain: String,
        flag: bool,
    }

    impl Default for Demo {
        fn default() -> Self {
            Demo {
                wait_seconds: DEFAULT_WAIT_SECONDS,
                trust_domain: "cluster.local".into(),
                flag: false,
            }
        }
    }

    #[test]
    fn options_read_defaults_values_and_refuse_unknown_keys_and_bad_values() {
        assert_eq!(parse::<Demo>("").unwrap(), Demo::default());
        assert_eq!(parse::<Demo>("waitSeconds: null").unwrap(), Demo::default());
        let o: Demo = parse(r#"{"waitSeconds": 3600, "trustDomain": "a.b", "flag": true}"#).unwrap();
        assert_eq!((o.wait_seconds, o.trust_domain.as_str(), o.flag), (3600, "a.b", true));
        assert_eq!(fields::<Demo>(), ["waitSeconds", "trustDomain", "flag"]);
        assert_eq!(
            parse::<Demo>("colour: null").unwrap_err(),
            OptionsError::UnknownKey {
                key: "colour".into(),
                known: &["waitSeconds", "trustDomain", "flag"]
            }
        );
        for (body, key, says) in [
            ("waitSeconds: 0", "waitSeconds", "out of range"),
            ("waitSeconds: 3601", "waitSeconds", "out of range"),
            ("waitSeconds: -5", "waitSeconds", "not a whole number"),
            ("waitSeconds: \"30\"", "waitSeconds", "a string"),
            (
                "flag: true\ntrustDomain: Not_A_Domain",
                "trustDomain",
                "lowercase DNS name",
            ),
            ("flag: 3", "flag", "boolean"),
        ] {
            match parse::<Demo>(body) {
                Err(OptionsError::BadValue { key: k, problem }) => {
                    assert_eq!(k, key, "{body}");
                    assert!(problem.contains(says), "{body}: {problem}");
                }
                other => panic!("{body}: {other:?}"),
            }
        }
        assert!(matches!(parse::<Demo>("- a"), Err(OptionsError::Syntax(_))));
    }
}
