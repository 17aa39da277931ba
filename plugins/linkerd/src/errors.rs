//! The Linkerd translator's errors: each with its number (the code is `WASMESH-LINKERD-<n>`),
//! message, probable cause and remediation in one place. A number given twice does not compile.

wasmesh_sdk::errors! {
    pub enum LinkerdError in "WASMESH-LINKERD" {
        OptionsSyntax { why: String, keys: String } = 1102 => {
            message: "install options: {why}",
            cause: "the custom body of the linkerd operation holds install options and could not be read",
            remedy: "leave the custom body empty for the defaults, or give a mapping such as `registry: my.mirror/linkerd` (keys: {keys})",
        },
        UnknownOption { key: String, keys: String } = 1103 => {
            message: "unknown install option \"{key}\"; the Linkerd install accepts: {keys}",
            cause: "the custom body names an option this adapter does not know (a typo, or an option of another tool such as a Helm value)",
            remedy: "remove it or use one of: {keys}",
        },
        BadOption { key: String, problem: String, fix: String } = 1104 => {
            message: "invalid install option {key}: {problem}",
            cause: "an install option has the wrong type or an unusable value",
            remedy: "{fix}",
        },
    }
}
