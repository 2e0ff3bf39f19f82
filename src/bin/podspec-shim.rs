//! `podspec-shim`: the single-threaded helper of the reference runtime: its code is the
//! `podspec-linux` crate (`podspec_linux::shim`); the binary is built here, beside `podspec`,
//! where `paths::Paths` finds it.

fn main() {
    std::process::exit(podspec_linux::shim::main(std::env::args().collect()));
}
