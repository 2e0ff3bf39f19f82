//! `podspec-shim`: the single-threaded helper of the reference runtime (see
//! `podspec::runtime::linux::shim`).

fn main() {
    std::process::exit(podspec::runtime::linux::shim::main(std::env::args().collect()));
}
