//! A field error and an error list, as apimachinery's `field.Error` and `field.ErrorList` print
//! them (staging/src/k8s.io/apimachinery/pkg/util/validation/field/errors.go).

use std::collections::BTreeSet;
use std::fmt;

/// A field error, printed as Kubernetes prints `field.Error`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldError {
    pub field: String,
    pub kind: FieldErrorKind,
    /// The offending value, already formatted (`"x"` for strings), when the kind shows one.
    pub value: Option<String>,
    pub detail: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FieldErrorKind {
    Required,
    Invalid,
    Duplicate,
    NotSupported,
    Forbidden,
    NotFound,
    TooLong,
}

impl FieldErrorKind {
    /// The Status cause reason (metav1.CauseType) of this kind of error.
    pub fn cause_reason(self) -> &'static str {
        match self {
            Self::Required => "FieldValueRequired",
            Self::Invalid => "FieldValueInvalid",
            Self::Duplicate => "FieldValueDuplicate",
            Self::NotSupported => "FieldValueNotSupported",
            Self::Forbidden => "FieldValueForbidden",
            Self::NotFound => "FieldValueNotFound",
            Self::TooLong => "FieldValueTooLong",
        }
    }

    fn text(self) -> &'static str {
        match self {
            Self::Required => "Required value",
            Self::Invalid => "Invalid value",
            Self::Duplicate => "Duplicate value",
            Self::NotSupported => "Unsupported value",
            Self::Forbidden => "Forbidden",
            Self::NotFound => "Not found",
            Self::TooLong => "Too long",
        }
    }
}

impl FieldError {
    pub fn required(field: impl Into<String>) -> Self {
        Self { field: field.into(), kind: FieldErrorKind::Required, value: None, detail: String::new() }
    }
    pub fn invalid(field: impl Into<String>, value: &str, detail: impl Into<String>) -> Self {
        Self { field: field.into(), kind: FieldErrorKind::Invalid, value: Some(format!("{value:?}")), detail: detail.into() }
    }
    /// An invalid value printed as it is (numbers, `null`).
    pub fn invalid_raw(field: impl Into<String>, value: impl std::fmt::Display, detail: impl Into<String>) -> Self {
        Self { field: field.into(), kind: FieldErrorKind::Invalid, value: Some(value.to_string()), detail: detail.into() }
    }
    pub fn duplicate(field: impl Into<String>, value: &str) -> Self {
        Self { field: field.into(), kind: FieldErrorKind::Duplicate, value: Some(format!("{value:?}")), detail: String::new() }
    }
    pub fn not_supported(field: impl Into<String>, value: &str, supported: &[&str]) -> Self {
        let list = supported.iter().map(|s| format!("{s:?}")).collect::<Vec<_>>().join(", ");
        Self {
            field: field.into(),
            kind: FieldErrorKind::NotSupported,
            value: Some(format!("{value:?}")),
            detail: format!("supported values: {list}"),
        }
    }
    pub fn not_found(field: impl Into<String>, value: &str) -> Self {
        Self { field: field.into(), kind: FieldErrorKind::NotFound, value: Some(format!("{value:?}")), detail: String::new() }
    }
    /// `field.TooLong` with no value shown.
    pub fn too_long(field: impl Into<String>, max_bytes: usize) -> Self {
        Self { field: field.into(), kind: FieldErrorKind::TooLong, value: None, detail: format!("may not be more than {max_bytes} bytes") }
    }
    pub fn forbidden(field: impl Into<String>, detail: impl Into<String>) -> Self {
        Self { field: field.into(), kind: FieldErrorKind::Forbidden, value: None, detail: detail.into() }
    }

    /// `ErrorBody()`: the text after the field path.
    pub fn body(&self) -> String {
        let mut s = self.kind.text().to_string();
        if let Some(v) = &self.value {
            s.push_str(": ");
            s.push_str(v);
        }
        if !self.detail.is_empty() {
            s.push_str(": ");
            s.push_str(&self.detail);
        }
        s
    }
}

impl fmt::Display for FieldError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.field, self.body())
    }
}

/// An error list aggregated as Kubernetes does: one error alone, several as `[a, b]`.
pub fn aggregate(errors: &[FieldError]) -> String {
    let mut seen = BTreeSet::new();
    let unique: Vec<String> = errors.iter().map(ToString::to_string).filter(|e| seen.insert(e.clone())).collect();
    match unique.len() {
        1 => unique[0].clone(),
        _ => format!("[{}]", unique.join(", ")),
    }
}

impl FieldError {
    pub fn with_detail(mut self, detail: &str) -> Self {
        self.detail = detail.to_string();
        self
    }
}
