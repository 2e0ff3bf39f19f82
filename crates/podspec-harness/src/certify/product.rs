//! PRODUCT.yaml: the product a certification is for, with the fields of a CNCF conformance
//! submission (github.com/cncf/k8s-conformance, "instructions.md").

use serde::{Deserialize, Serialize};

/// The product types a CNCF conformance submission allows.
pub const PRODUCT_TYPES: &[&str] = &["distribution", "hosted platform", "installer"];

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Product {
    #[serde(default)]
    pub vendor: String,
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub version: String,
    #[serde(default)]
    pub website_url: String,
    #[serde(default)]
    pub documentation_url: String,
    #[serde(default)]
    pub product_logo_url: String,
    #[serde(default, rename = "type")]
    pub product_type: String,
    #[serde(default)]
    pub description: String,
    #[serde(default)]
    pub contact_email_address: String,
}

impl Product {
    /// What is wrong with it, one line each (empty when it is complete and valid). CNCF's
    /// instructions require vendor, name, version, type, description, website_url,
    /// documentation_url and contact_email_address present and non-empty.
    pub fn problems(&self) -> Vec<String> {
        let mut problems = Vec::new();
        let required = [
            ("vendor", &self.vendor),
            ("name", &self.name),
            ("version", &self.version),
            ("website_url", &self.website_url),
            ("documentation_url", &self.documentation_url),
            ("type", &self.product_type),
            ("description", &self.description),
            ("contact_email_address", &self.contact_email_address),
        ];
        for (field, value) in required {
            if value.trim().is_empty() {
                problems.push(format!("PRODUCT.yaml: {field} is missing"));
            }
        }
        problems.extend(self.invalid_values());
        problems
    }

    /// Values given but invalid (a type not allowed, an email or URL that is not one).
    pub fn invalid_values(&self) -> Vec<String> {
        let mut problems = Vec::new();
        if !self.product_type.is_empty() && !PRODUCT_TYPES.contains(&self.product_type.as_str()) {
            problems.push(format!("PRODUCT.yaml: type {:?} is not one of {}", self.product_type, PRODUCT_TYPES.join(", ")));
        }
        if !self.contact_email_address.is_empty() && !is_email(&self.contact_email_address) {
            problems.push(format!("PRODUCT.yaml: contact_email_address {:?} is not an email address", self.contact_email_address));
        }
        for (field, value) in [
            ("website_url", &self.website_url),
            ("documentation_url", &self.documentation_url),
            ("product_logo_url", &self.product_logo_url),
        ] {
            if !(value.is_empty() || value.starts_with("https://") || value.starts_with("http://")) {
                problems.push(format!("PRODUCT.yaml: {field} {value:?} is not an http(s) URL"));
            }
        }
        problems
    }
}

/// `local@domain.tld`: one `@`, a non-empty local part, a dotted domain, no spaces.
pub fn is_email(text: &str) -> bool {
    let Some((local, domain)) = text.split_once('@') else { return false };
    !local.is_empty()
        && !domain.contains('@')
        && !text.contains(char::is_whitespace)
        && domain.split('.').count() >= 2
        && domain.split('.').all(|part| !part.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn complete() -> Product {
        Product {
            vendor: "Example".into(),
            name: "Example Kubernetes".into(),
            version: "v1.33".into(),
            website_url: "https://example.com".into(),
            documentation_url: "https://example.com/docs".into(),
            product_logo_url: String::new(),
            product_type: "distribution".into(),
            description: "A distribution".into(),
            contact_email_address: "k8s@example.com".into(),
        }
    }

    #[test]
    fn a_complete_product_has_no_problems() {
        assert!(complete().problems().is_empty());
        let yaml = serde_yaml::to_string(&complete()).unwrap();
        assert!(yaml.contains("type: distribution"), "{yaml}");
        assert!(yaml.contains("contact_email_address: k8s@example.com"), "{yaml}");
    }

    #[test]
    fn missing_and_invalid_fields_are_named() {
        let p = Product { description: " ".into(), ..complete() };
        assert_eq!(p.problems(), ["PRODUCT.yaml: description is missing"]);
        let p = Product { vendor: String::new(), product_type: "appliance".into(), contact_email_address: "nobody".into(), ..complete() };
        assert_eq!(
            p.problems(),
            [
                "PRODUCT.yaml: vendor is missing",
                "PRODUCT.yaml: type \"appliance\" is not one of distribution, hosted platform, installer",
                "PRODUCT.yaml: contact_email_address \"nobody\" is not an email address",
            ]
        );
        assert!(!is_email("a@b"));
        assert!(!is_email("a b@c.d"));
        assert!(is_email("a.b@c.example"));
    }
}
