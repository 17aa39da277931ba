//! `wasmesh plugins --codes`: every error code the host and each loaded plugin may emit.
//!
//! The host's codes come from each host crate's list ([`crate::errors::host_codes`]); a
//! plugin's from its manifest (`"errors"`, which the SDK's `Translator` generates from the
//! plugin's `errors!` enum and a unit test keeps equal to it). The manifest is read from the
//! component's bytes, so listing runs no plugin code; describe would have needed a change of the
//! contract (a new field of `info`) and an instance of every plugin.

use std::collections::BTreeMap;
use std::fmt::Write as _;

/// The codes one owner declares.
pub struct Section<'a> {
    /// The heading: "host", or "plugin linkerd (LINKERD, port 10001)".
    pub title: String,
    /// Who declares them: "host", or a plugin file (its sha256), so that one plugin file served
    /// on two ports is one owner.
    pub owner: String,
    /// (code, what it says).
    pub codes: Vec<(&'a str, &'a str)>,
}

/// The host's codes, each with the crate that declares it.
pub fn host_section() -> Section<'static> {
    Section {
        title: "host".into(),
        owner: "host".into(),
        codes: crate::errors::host_codes()
            .into_iter()
            .map(|(code, what, _)| (code, what))
            .collect(),
    }
}

/// The listing: a heading per section with its count, then one line per code.
pub fn render(sections: &[Section]) -> String {
    let width = sections
        .iter()
        .flat_map(|s| s.codes.iter().map(|(c, _)| c.len()))
        .max()
        .unwrap_or(0);
    let mut out = String::new();
    for s in sections {
        match s.codes.len() {
            0 => {
                let _ = writeln!(out, "{}: declares no codes", s.title);
            }
            n => {
                let _ = writeln!(out, "{}: {n} codes", s.title);
            }
        }
        for (code, what) in &s.codes {
            let _ = writeln!(out, "  {code:<width$}  {what}");
        }
    }
    out
}

/// Each code declared by two owners (or twice by one), as a sentence naming them.
pub fn duplicates(sections: &[Section]) -> Vec<String> {
    let mut by_code: BTreeMap<&str, Vec<(&str, &str)>> = BTreeMap::new();
    for s in sections {
        for (code, _) in &s.codes {
            by_code
                .entry(code)
                .or_default()
                .push((s.owner.as_str(), s.title.as_str()));
        }
    }
    let mut out = Vec::new();
    for (code, mut owners) in by_code {
        // The same plugin file on two ports declares its codes once for each: one owner.
        let mut seen: Vec<(&str, &str)> = Vec::new();
        let mut twice_by_one = false;
        owners.sort();
        for (owner, title) in owners {
            match seen.iter().find(|(o, _)| *o == owner) {
                Some((_, t)) if *t == title => twice_by_one = true,
                Some(_) => {}
                None => seen.push((owner, title)),
            }
        }
        if seen.len() > 1 {
            let names: Vec<&str> = seen.iter().map(|(_, t)| *t).collect();
            out.push(format!("{code} is declared by {}", names.join(" and ")));
        } else if twice_by_one {
            out.push(format!("{code} is declared twice by {}", seen[0].1));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;
    use std::path::Path;

    use super::*;

    fn section<'a>(title: &str, owner: &str, codes: &[&'a str]) -> Section<'a> {
        Section {
            title: title.into(),
            owner: owner.into(),
            codes: codes.iter().map(|c| (*c, "x")).collect(),
        }
    }

    #[test]
    fn a_code_of_two_owners_or_twice_in_one_list_is_named_the_same_file_twice_is_not() {
        let sections = [
            section("host", "host", &["WASMESH-HOST-1001", "WASMESH-X-1"]),
            section("plugin a", "sha-a", &["WASMESH-A-1000", "WASMESH-X-1"]),
            section("plugin a2", "sha-a", &["WASMESH-A-1000"]),
            section("plugin b", "sha-b", &["WASMESH-B-1", "WASMESH-B-1"]),
        ];
        assert_eq!(
            duplicates(&sections),
            [
                "WASMESH-B-1 is declared twice by plugin b",
                "WASMESH-X-1 is declared by host and plugin a",
            ]
        );
        let text = render(&sections[..2]);
        assert!(text.starts_with("host: 2 codes\n  WASMESH-HOST-1001  x\n"), "{text}");
        assert!(render(&[section("plugin p", "p", &[])]).contains("plugin p: declares no codes"));
    }

    /// Every code of the host and of the built-in plugins, from their manifests: none twice.
    #[test]
    fn no_code_is_declared_twice_by_the_host_and_the_built_in_plugins() {
        let mut sections = vec![host_section()];
        let manifests: Vec<(String, wasmesh_runtime::Manifest)> = crate::config::Config::default()
            .plugins
            .iter()
            .map(|pc| {
                let wasm = crate::builtin::component_bytes(pc).unwrap();
                (pc.name.clone(), wasmesh_runtime::read_manifest(&wasm).unwrap())
            })
            .collect();
        assert_eq!(manifests.len(), crate::builtin::BUILTINS.len());
        for (name, m) in &manifests {
            assert!(m.errors.len() > 20, "{name} declares only {:?}", m.errors);
            sections.push(Section {
                title: format!("plugin {name}"),
                owner: name.clone(),
                codes: m.errors.iter().map(|(c, w)| (c.as_str(), w.as_str())).collect(),
            });
        }
        assert_eq!(duplicates(&sections), Vec::<String>::new());
        let all: Vec<&str> = sections.iter().flat_map(|s| s.codes.iter().map(|(c, _)| *c)).collect();
        for want in [
            "WASMESH-LINKERD-1401",
            "WASMESH-ISTIO-1590",
            "WASMESH-KUMA-1000",
            "WASMESH-CAP-DENIED",
        ] {
            assert!(all.contains(&want), "{want} is not listed");
        }
    }

    /// The `WASMESH-` codes written in a host crate's sources (outside its `CODES` list).
    fn codes_in(src: &Path, out: &mut BTreeSet<String>) {
        for entry in std::fs::read_dir(src).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                codes_in(&path, out);
                continue;
            }
            // This file's tests hold made-up and plugin codes.
            if path.extension().is_none_or(|e| e != "rs") || path.ends_with("wasmesh/src/codes.rs") {
                continue;
            }
            let mut text = std::fs::read_to_string(&path).unwrap();
            if let Some(start) = text.find("pub const CODES: &[(&str, &str)] = &[") {
                let end = start + text[start..].find("];").unwrap();
                text.replace_range(start..end, "");
            }
            let mut rest = text.as_str();
            while let Some(i) = rest.find("WASMESH-") {
                let token: String = rest[i..]
                    .chars()
                    .take_while(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || *c == '-')
                    .collect();
                let token = token.trim_end_matches('-');
                // A code has a prefix and a number or name: WASMESH-HOST-1001, WASMESH-CAP-DENIED.
                if token.matches('-').count() >= 2 {
                    out.insert(token.to_string());
                }
                rest = &rest[i + 8..];
            }
        }
    }

    /// Every code a host crate's sources use is in a host crate's list, and every listed code is
    /// used by the crate that lists it: a new code cannot be left out of `wasmesh plugins
    /// --codes`, nor a removed one stay there.
    #[test]
    fn each_host_crate_lists_exactly_the_codes_its_sources_use() {
        let host = Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap().to_path_buf();
        let lists: [(&str, &[(&str, &str)]); 3] = [
            ("wasmesh", crate::errors::CODES),
            ("cluster", wasmesh_cluster::CODES),
            ("grant", wasmesh_grant::CODES),
        ];
        let all: BTreeSet<String> = crate::errors::host_codes()
            .iter()
            .map(|(c, _, _)| c.to_string())
            .collect();
        for (dir, list) in lists {
            let mut used = BTreeSet::new();
            codes_in(&host.join(dir).join("src"), &mut used);
            // The runtime has no list of its own: wasmesh's lists its codes.
            if dir == "wasmesh" {
                codes_in(&host.join("runtime").join("src"), &mut used);
            }
            let listed: BTreeSet<String> = list.iter().map(|(c, _)| c.to_string()).collect();
            assert_eq!(listed.len(), list.len(), "host/{dir}: a code is listed twice");
            let unused: Vec<&String> = listed.difference(&used).collect();
            assert!(
                unused.is_empty(),
                "host/{dir} lists codes its sources do not use: {unused:?}"
            );
            let unlisted: Vec<&String> = used.difference(&all).collect();
            assert!(
                unlisted.is_empty(),
                "host/{dir} uses codes no CODES list has: {unlisted:?}"
            );
        }
        // The other host crates have no list: what they use is listed by another.
        for dir in ["runtime", "proto"] {
            let mut used = BTreeSet::new();
            codes_in(&host.join(dir).join("src"), &mut used);
            let unlisted: Vec<&String> = used.difference(&all).collect();
            assert!(
                unlisted.is_empty(),
                "host/{dir} uses codes no CODES list has: {unlisted:?}"
            );
        }
    }
}
