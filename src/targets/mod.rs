//! Implementations of the Target trait.

pub mod reference;

pub use reference::{ReferenceOptions, ReferenceTarget};
