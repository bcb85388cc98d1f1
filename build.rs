//! Link settings for the `campaign-bot` binary.
//!
//! On GNU/Linux the binary is linked with packed relative relocations
//! (DT_RELR, glibc 2.36 and later, as in the image's Debian 12): the
//! dynamic loader then reads a few kilobytes at start instead of 2 MB of
//! relocation entries, which is most of the difference between an idle
//! daemon of 13 MB and one of 11 MB (BENCHMARKS.md).

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    let target = std::env::var("TARGET").unwrap_or_default();
    if target.ends_with("-linux-gnu") {
        println!("cargo:rustc-link-arg-bins=-Wl,-z,pack-relative-relocs");
    }
}
