//! Writes the CRI client generated from the CRI's api.proto into podspec-cri.

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let text = podspec_cri_client::generate()?;
    std::fs::write(podspec_cri_client::checked_in(), text)?;
    Ok(())
}
