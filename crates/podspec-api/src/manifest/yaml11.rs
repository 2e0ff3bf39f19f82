//! The one place where Kubernetes' YAML and podspec's YAML parser disagree on what a plain
//! scalar means, for what manifests hold: octal integers. kubectl and kube-apiserver decode YAML
//! with go-yaml's YAML 1.1 rules (sigs.k8s.io/yaml), where a plain scalar of a leading `0` and
//! octal digits is an octal integer: `defaultMode: 0400` is 256, the way Kubernetes' own docs
//! write file modes. The YAML 1.2 parser podspec uses reads it as the string `"0400"`, which a
//! mode field then refuses. Each such plain scalar is rewritten to its decimal value where it
//! stands, before the parser reads the text: quoted scalars (`'0400'` stays a string, as in
//! Kubernetes), block scalars and comments are left alone, and lines stay where they were, so
//! errors still name the right line.

use std::borrow::Cow;

use yaml_rust2::parser::{Event, MarkedEventReceiver, Parser};
use yaml_rust2::scanner::{Marker, TScalarStyle};

/// `text` with every plain scalar that YAML 1.1 reads as an octal integer (`0400`, `-017`)
/// written in decimal. Text that is not valid YAML is returned as it is (the parser that reads
/// it next reports the error).
pub fn octals_as_kubernetes_reads_them(text: &str) -> Cow<'_, str> {
    // Nothing to rewrite without a digit 0 after a space, a `[`, a `,` or a `-`: most manifests.
    if !text.as_bytes().windows(2).any(|w| matches!(w[0], b' ' | b'[' | b',' | b'-' | b'\t' | b'{') && w[1] == b'0') {
        return Cow::Borrowed(text);
    }
    let mut found = Octals(Vec::new());
    if Parser::new_from_str(text).load(&mut found, true).is_err() || found.0.is_empty() {
        return Cow::Borrowed(text);
    }
    // The parser's marks count characters; the rewrite needs byte offsets.
    let byte_at: Vec<usize> = text.char_indices().map(|(i, _)| i).chain([text.len()]).collect();
    let mut out = String::with_capacity(text.len());
    let mut from = 0;
    for (char_index, scalar, value) in found.0 {
        let Some(&start) = byte_at.get(char_index) else { return Cow::Borrowed(text) };
        let end = start + scalar.len();
        if start < from || text.get(start..end) != Some(scalar.as_str()) {
            // Not where the parser said (it never happens for a plain scalar on one line).
            return Cow::Borrowed(text);
        }
        out.push_str(&text[from..start]);
        out.push_str(&value.to_string());
        from = end;
    }
    out.push_str(&text[from..]);
    Cow::Owned(out)
}

/// A plain scalar's value as a YAML 1.1 octal integer: a sign, a `0`, then octal digits.
fn octal(plain: &str) -> Option<i64> {
    let (negative, digits) = match plain.as_bytes().first()? {
        b'-' => (true, &plain[1..]),
        b'+' => (false, &plain[1..]),
        _ => (false, plain),
    };
    let rest = digits.strip_prefix('0')?;
    if rest.is_empty() || !rest.bytes().all(|b| (b'0'..=b'7').contains(&b)) {
        return None;
    }
    let value = i64::from_str_radix(rest, 8).ok()?;
    Some(if negative { -value } else { value })
}

/// The plain scalars that are octal integers: (character index, text, value), in order.
struct Octals(Vec<(usize, String, i64)>);

impl MarkedEventReceiver for Octals {
    fn on_event(&mut self, event: Event, mark: Marker) {
        if let Event::Scalar(text, TScalarStyle::Plain, _, None) = event {
            if let Some(value) = octal(&text) {
                self.0.push((mark.index(), text, value));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_octal_scalars_become_their_decimal_values_and_nothing_else_changes() {
        let text = "a: 0400\nb: '0400'\nc: |\n  x: 0755\nd: [0644, \"0755\", 0o17, 0, 08, 0x1F, 400]\né: 0777 # 0644\nf:\n- -017\n- 0999\n";
        let want = "a: 256\nb: '0400'\nc: |\n  x: 0755\nd: [420, \"0755\", 0o17, 0, 08, 0x1F, 400]\né: 511 # 0644\nf:\n- -15\n- 0999\n";
        assert_eq!(octals_as_kubernetes_reads_them(text), want);
        let v: serde_json::Value = serde_yaml::from_str(want).unwrap();
        assert_eq!(v["a"], 256);
        assert_eq!(v["b"], "0400");
        assert_eq!(v["c"], "x: 0755\n");
        assert_eq!(v["é"], 511);
    }

    #[test]
    fn text_without_octals_or_that_is_not_yaml_is_left_as_it_is() {
        for text in ["a: 1\nb: [x, y]\n", "a: [0400\n", "a: 0400\n  - b: ]\n", ""] {
            assert_eq!(octals_as_kubernetes_reads_them(text), text, "{text:?}");
        }
        assert!(matches!(octals_as_kubernetes_reads_them("a: 1\n"), Cow::Borrowed(_)));
    }

    #[test]
    fn a_mode_in_octal_is_the_mode_kubernetes_reads() {
        let text = "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n  containers: [{name: a, image: busybox:1.36}]\n  volumes:\n  - name: d\n    downwardAPI:\n      defaultMode: 0400\n      items: [{path: n, mode: 0644, fieldRef: {fieldPath: metadata.name}}]\n";
        let pod = crate::manifest::parse_pod(text, &crate::manifest::Source { file: "p.yaml".into(), first_line: 1 }).unwrap();
        let d = pod.spec.unwrap().volumes.unwrap()[0].downward_api.clone().unwrap();
        assert_eq!(d.default_mode, Some(256));
        assert_eq!(d.items.unwrap()[0].mode, Some(420));
    }
}
