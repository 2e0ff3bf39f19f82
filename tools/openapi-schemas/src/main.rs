//! Writes podspec serve's OpenAPI schemas (crates/podspec-server/src/openapi/schemas.json) from
//! k8s-openapi's types: `cargo run -p podspec-openapi-schemas`.

fn main() -> std::io::Result<()> {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(podspec_openapi_schemas::CHECKED_IN);
    std::fs::write(&path, podspec_openapi_schemas::file_text())?;
    println!("wrote {}", path.display());
    Ok(())
}
