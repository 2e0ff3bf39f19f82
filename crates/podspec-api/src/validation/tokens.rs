//! A service account token's lifetime, as TokenRequest and a projected token volume bound it.

/// TokenRequest's bounds and default (pkg/apis/authentication/validation: MinTokenAgeSec;
/// SetDefaults_TokenRequestSpec: one hour).
pub const MIN_SECONDS: i64 = 600;
pub const MAX_SECONDS: i64 = 1 << 32;
pub const DEFAULT_SECONDS: i64 = 3600;
