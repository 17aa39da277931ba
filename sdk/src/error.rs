use crate::Error;

/// Builds the typed error every translator failure carries. Prefer an enum of
/// [`errors!`](crate::errors!): its codes are unique by construction.
pub fn error(
    code: impl Into<String>,
    message: impl Into<String>,
    probable_cause: impl Into<String>,
    suggested_remediation: impl Into<String>,
) -> Error {
    Error {
        code: code.into(),
        message: message.into(),
        probable_cause: probable_cause.into(),
        suggested_remediation: suggested_remediation.into(),
    }
}

/// The numbers the SDK gives its own errors under a translator's prefix (unknown operation,
/// unreadable custom YAML, design errors), each with what its message says. An
/// [`errors!`](crate::errors!) enum that uses one does not compile. Every translator can emit
/// them, so [`Translator::manifest_json`](crate::translator::Translator::manifest_json) lists
/// them with the translator's own.
pub const SDK_CODES: &[(u32, &str)] = &[
    (1000, "unknown operation \"{key}\""),
    (1001, "YAML document {n} is not valid YAML: {why}"),
    (1002, "the YAML body is over the size, expansion or depth limit"),
    (1003, "YAML document {n} is not a Kubernetes object: {what}"),
    (1004, "the YAML body holds no Kubernetes object"),
    (1005, "{refused}: {mesh} is not installed in this cluster"),
    (1006, "asset file {version}/{file} is not usable: {why}"),
    (1007, "the asset folder {version}/ cannot be read: {why}"),
    (2001, "design component is not usable: {what}"),
    (
        2002,
        "component {name} of type {kind} cannot be deployed from a design by this translator",
    ),
    (
        2004,
        "component \"{name}\" of type {kind} is not a Kubernetes object and this translator does not know the type",
    ),
    (2005, "trait {trait} of component \"{component}\" is invalid: {why}"),
    (2006, "the design's configuration cannot be read: {why}"),
    (2007, "trait {trait} of component \"{component}\" conflicts: {what}"),
    (
        2101,
        "{kind} \"{name}\" names apiVersion \"{apiVersion}\", but {mesh}'s {kind} is in {groups}",
    ),
    (
        2102,
        "{kind} \"{name}\" names version \"{version}\" of {group}, which {mesh} does not define for {kind}",
    ),
    (
        2103,
        "{kind} \"{name}\" cannot be applied: the cluster does not serve {group} {kind} (in that version)",
    ),
    (2104, "{kind} \"{name}\" cannot be used: {why}"),
    (2105, "{kind} \"{name}\" is a second {mesh} control plane in the design"),
    (2106, "{kind} \"{name}\" is not a {mesh} component"),
];

/// The numbers of [`SDK_CODES`].
pub const SDK_NUMBERS: &[u32] = &[
    1000, 1001, 1002, 1003, 1004, 1005, 1006, 1007, 2001, 2002, 2004, 2005, 2006, 2007, 2101, 2102, 2103, 2104, 2105,
    2106,
];

/// Declares a translator's error enum: each variant with its number, message, probable cause
/// and remediation in one place. Messages, causes and remediations are `format!` strings that
/// may name the variant's fields.
///
/// The code of a variant is `<prefix>-<number>`. Two variants with the same number, or a
/// variant with one of the SDK's own numbers ([`SDK_NUMBERS`]), do not compile: the numbers are
/// the discriminants of a hidden enum, which Rust requires to be distinct. The enum converts
/// into [`Error`](crate::Error) with `?` or `.into()`.
///
/// ```
/// wasmesh_sdk::errors! {
///     /// What can go wrong in the MyMesh translator.
///     pub enum MyMeshError in "WASMESH-MYMESH" {
///         /// The custom body names an option MyMesh does not know.
///         UnknownOption { key: String } = 1103 => {
///             message: "unknown install option \"{key}\"",
///             cause: "the custom body names an option this adapter does not know",
///             remedy: "remove \"{key}\" from the custom body",
///         },
///         NotInstalled = 1200 => {
///             message: "MyMesh is not installed",
///             cause: "the control plane is missing",
///             remedy: "install MyMesh first",
///         },
///     }
/// }
/// let e: wasmesh_sdk::Error = MyMeshError::UnknownOption { key: "colour".into() }.into();
/// assert_eq!(e.code, "WASMESH-MYMESH-1103");
/// assert_eq!(e.message, "unknown install option \"colour\"");
/// assert_eq!(MyMeshError::NUMBERS, &[1103, 1200]);
/// ```
///
/// A number given twice is a compile error:
///
/// ```compile_fail,E0081
/// wasmesh_sdk::errors! {
///     pub enum Twice in "WASMESH-X" {
///         A = 1100 => { message: "a", cause: "a", remedy: "a" },
///         B = 1100 => { message: "b", cause: "b", remedy: "b" },
///     }
/// }
/// ```
///
/// and so is one of the SDK's:
///
/// ```compile_fail,E0081
/// wasmesh_sdk::errors! {
///     pub enum Taken in "WASMESH-X" {
///         A = 2101 => { message: "a", cause: "a", remedy: "a" },
///     }
/// }
/// ```
#[macro_export]
macro_rules! errors {
    (
        $(#[$meta:meta])*
        $vis:vis enum $name:ident in $prefix:literal {
            $(
                $(#[$vmeta:meta])*
                $variant:ident $({ $($field:ident : $ty:ty),* $(,)? })? = $number:literal => {
                    message: $message:literal,
                    cause: $cause:literal,
                    remedy: $remedy:literal $(,)?
                }
            ),* $(,)?
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, PartialEq)]
        $vis enum $name {
            $(
                $(#[$vmeta])*
                $variant $({ $($field: $ty),* })?,
            )*
        }

        // Distinct discriminants are what makes the numbers unique (E0081 otherwise); the SDK's
        // own numbers are taken too.
        const _: () = {
            #[allow(dead_code, non_camel_case_types)]
            #[repr(u32)]
            enum Numbers {
                $($variant = $number,)*
                __Sdk1000 = 1000, __Sdk1001 = 1001, __Sdk1002 = 1002, __Sdk1003 = 1003, __Sdk1004 = 1004, __Sdk1005 = 1005,
                __Sdk1006 = 1006, __Sdk1007 = 1007,
                __Sdk2001 = 2001, __Sdk2002 = 2002, __Sdk2004 = 2004,
                __Sdk2005 = 2005, __Sdk2006 = 2006, __Sdk2007 = 2007, __Sdk2101 = 2101, __Sdk2102 = 2102,
                __Sdk2103 = 2103, __Sdk2104 = 2104, __Sdk2105 = 2105, __Sdk2106 = 2106,
            }
        };

        #[allow(dead_code, unused_variables)]
        impl $name {
            /// The prefix of every code.
            pub const PREFIX: &'static str = $prefix;
            /// Every number, in declaration order.
            pub const NUMBERS: &'static [u32] = &[$($number),*];
            /// Every number with its message as written (a `format!` string), in declaration
            /// order: what [`Translator::errors`]($crate::translator::Translator::errors) takes.
            pub const CODES: &'static [(u32, &'static str)] = &[$(($number, $message)),*];

            /// The variant's number.
            pub fn number(&self) -> u32 {
                match self {
                    $(Self::$variant $({ $($field: _),* })? => $number,)*
                }
            }

            /// `<prefix>-<number>`.
            pub fn code(&self) -> String {
                format!("{}-{}", $prefix, self.number())
            }

            pub fn message(&self) -> String {
                match self {
                    $(Self::$variant $({ $($field),* })? => format!($message),)*
                }
            }

            pub fn probable_cause(&self) -> String {
                match self {
                    $(Self::$variant $({ $($field),* })? => format!($cause),)*
                }
            }

            pub fn suggested_remediation(&self) -> String {
                match self {
                    $(Self::$variant $({ $($field),* })? => format!($remedy),)*
                }
            }
        }

        impl ::core::fmt::Display for $name {
            fn fmt(&self, f: &mut ::core::fmt::Formatter<'_>) -> ::core::fmt::Result {
                f.write_str(&self.message())
            }
        }

        impl ::core::convert::From<$name> for $crate::Error {
            fn from(e: $name) -> $crate::Error {
                $crate::Error {
                    code: e.code(),
                    message: e.message(),
                    probable_cause: e.probable_cause(),
                    suggested_remediation: e.suggested_remediation(),
                }
            }
        }
    };
}

#[cfg(test)]
mod tests {
    crate::errors! {
        enum Demo in "WASMESH-DEMO" {
            Plain = 1100 => { message: "plain", cause: "c", remedy: "r" },
            WithFields { key: String, n: u32 } = 1101 => {
                message: "bad {key}",
                cause: "{n} is out of range",
                remedy: "give {key} a smaller value than {n}",
            },
        }
    }

    #[test]
    fn every_part_comes_from_the_variant() {
        let e: crate::Error = Demo::WithFields {
            key: "waitSeconds".into(),
            n: 9,
        }
        .into();
        assert_eq!(
            (
                e.code.as_str(),
                e.message.as_str(),
                e.probable_cause.as_str(),
                e.suggested_remediation.as_str()
            ),
            (
                "WASMESH-DEMO-1101",
                "bad waitSeconds",
                "9 is out of range",
                "give waitSeconds a smaller value than 9"
            )
        );
        assert_eq!(Demo::Plain.code(), "WASMESH-DEMO-1100");
        assert_eq!(Demo::NUMBERS, &[1100, 1101]);
        assert!(super::SDK_NUMBERS.iter().all(|n| !Demo::NUMBERS.contains(n)));
        assert_eq!(Demo::CODES, &[(1100, "plain"), (1101, "bad {key}")]);
    }

    #[test]
    fn sdk_numbers_are_the_numbers_of_sdk_codes() {
        let numbers: Vec<u32> = super::SDK_CODES.iter().map(|(n, _)| *n).collect();
        assert_eq!(numbers, super::SDK_NUMBERS);
    }
}
