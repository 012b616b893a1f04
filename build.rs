//! Generates `include/teamsop.h` from the C ABI in `src/ffi/` with cbindgen, and
//! gives the shared library its SONAME.

use std::env;
use std::fs;
use std::path::PathBuf;

/// The ABI major version, in the SONAME (`libteamsop.so.0`).
const SONAME: &str = "libteamsop.so.0";

fn main() {
    let crate_dir = PathBuf::from(env::var("CARGO_MANIFEST_DIR").expect("set by cargo"));
    let out_dir = PathBuf::from(env::var("OUT_DIR").expect("set by cargo"));

    println!("cargo:rerun-if-changed=src/ffi");
    println!("cargo:rerun-if-changed=cbindgen.toml");
    println!("cargo:rerun-if-env-changed=TEAMSOP_HEADER_READONLY");

    if env::var("CARGO_CFG_TARGET_OS").as_deref() == Ok("linux") {
        println!("cargo:rustc-cdylib-link-arg=-Wl,-soname,{SONAME}");
    }

    let config = cbindgen::Config::from_file(crate_dir.join("cbindgen.toml"))
        .expect("cbindgen.toml is valid");
    let bindings = cbindgen::Builder::new()
        .with_crate(&crate_dir)
        .with_config(config)
        .generate()
        .expect("cbindgen can read the C ABI in src/ffi");

    // Always written to OUT_DIR, so a check can compare it with the checked-in copy.
    let generated = out_dir.join("teamsop.h");
    bindings.write_to_file(&generated);

    // The checked-in header is refreshed when it differs, unless the source tree
    // must stay untouched (packaging, or a check that it is up to date).
    if env::var_os("TEAMSOP_HEADER_READONLY").is_none() {
        let header = crate_dir.join("include").join("teamsop.h");
        let fresh = fs::read(&generated).expect("just written");
        if fs::read(&header).ok().as_deref() != Some(&fresh[..]) {
            fs::create_dir_all(header.parent().expect("has a parent"))
                .expect("include/ is writable");
            fs::write(&header, fresh).expect("include/teamsop.h is writable");
        }
    }
}
