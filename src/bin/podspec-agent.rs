//! `podspec-agent`, the in-container test agent: its code is the `podspec-agent` crate
//! (crates/podspec-agent, std and libc only); the binary is built here, beside `podspec`, where
//! the image store and the tests look for it.

fn main() {
    podspec_agent::main()
}
