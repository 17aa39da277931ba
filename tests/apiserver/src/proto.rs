//! Just enough Kubernetes protobuf decoding for access reviews: kubectl (`auth can-i`) sends
//! SelfSubjectAccessReview bodies as application/vnd.kubernetes.protobuf and has no JSON fallback.

use serde_json::{Map, Value, json};

/// A field's value: Ok(varint) or Err(length-delimited bytes).
type Wire<'a> = Result<u64, &'a [u8]>;

/// Reads protobuf fields as (number, wire value); only varint and length-delimited are expected.
fn fields(mut buf: &[u8]) -> Option<Vec<(u64, Wire<'_>)>> {
    fn varint(buf: &mut &[u8]) -> Option<u64> {
        let mut v = 0u64;
        for shift in (0..64).step_by(7) {
            let (&b, rest) = buf.split_first()?;
            *buf = rest;
            v |= u64::from(b & 0x7f) << shift;
            if b & 0x80 == 0 {
                return Some(v);
            }
        }
        None
    }
    let mut out = Vec::new();
    while !buf.is_empty() {
        let tag = varint(&mut buf)?;
        match tag & 7 {
            0 => out.push((tag >> 3, Ok(varint(&mut buf)?))),
            2 => {
                let len = usize::try_from(varint(&mut buf)?).ok()?;
                if len > buf.len() {
                    return None;
                }
                let (data, rest) = buf.split_at(len);
                out.push((tag >> 3, Err(data)));
                buf = rest;
            }
            _ => return None,
        }
    }
    Some(out)
}

fn string_fields(buf: &[u8], names: &[(u64, &str)]) -> Option<Value> {
    let mut m = Map::new();
    for (n, v) in fields(buf)? {
        if let (Some((_, name)), Err(data)) = (names.iter().find(|(num, _)| *num == n), v) {
            m.insert(name.to_string(), json!(String::from_utf8_lossy(data)));
        }
    }
    Some(Value::Object(m))
}

/// Decodes a protobuf-enveloped (Self)SubjectAccessReview into its JSON shape.
pub fn decode_access_review(body: &[u8]) -> Option<Value> {
    let envelope = body.strip_prefix(b"k8s\x00")?;
    let mut type_meta = json!({});
    let mut raw: &[u8] = &[];
    for (n, v) in fields(envelope)? {
        match (n, v) {
            (1, Err(tm)) => type_meta = string_fields(tm, &[(1, "apiVersion"), (2, "kind")])?,
            (2, Err(r)) => raw = r,
            _ => {}
        }
    }
    let mut spec = Map::new();
    let mut groups = Vec::new();
    for (n, v) in fields(raw)? {
        let (2, Err(spec_bytes)) = (n, v) else {
            continue;
        };
        for (sn, sv) in fields(spec_bytes)? {
            let Err(data) = sv else { continue };
            match sn {
                1 => {
                    let ra = string_fields(
                        data,
                        &[
                            (1, "namespace"),
                            (2, "verb"),
                            (3, "group"),
                            (4, "version"),
                            (5, "resource"),
                            (6, "subresource"),
                            (7, "name"),
                        ],
                    )?;
                    spec.insert("resourceAttributes".into(), ra);
                }
                2 => {
                    spec.insert(
                        "nonResourceAttributes".into(),
                        string_fields(data, &[(1, "path"), (2, "verb")])?,
                    );
                }
                3 => {
                    spec.insert("user".into(), json!(String::from_utf8_lossy(data)));
                }
                4 => groups.push(json!(String::from_utf8_lossy(data))),
                _ => {}
            }
        }
    }
    if !groups.is_empty() {
        spec.insert("groups".into(), Value::Array(groups));
    }
    Some(json!({"apiVersion": type_meta["apiVersion"], "kind": type_meta["kind"], "metadata": {}, "spec": spec}))
}
