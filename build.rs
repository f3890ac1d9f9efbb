//! Builds the virtual-HID preload library (tools/vhid-preload) with the `cc` crate's compiler,
//! so that `rootkey demo --hid` can write it out at run time (it is embedded in the binary;
//! docs/virtual-key.md). Test-only machinery: release flows never load it.

use std::path::PathBuf;

fn main() {
    let src = "tools/vhid-preload/vhid_preload.c";
    println!("cargo:rerun-if-changed={src}");
    println!("cargo:rerun-if-changed=build.rs");
    let out = PathBuf::from(std::env::var_os("OUT_DIR").expect("cargo sets OUT_DIR"));
    let lib = out.join("libvhid_preload.so");
    // LD_PRELOAD and hidraw are Linux things: elsewhere the demo says --hid is Linux-only.
    if std::env::var("CARGO_CFG_TARGET_OS").as_deref() != Ok("linux") {
        std::fs::write(&lib, b"").expect("write an empty placeholder");
        return;
    }
    let compiler = cc::Build::new()
        .cargo_metadata(false)
        .cargo_warnings(false)
        .pic(true)
        .opt_level(2)
        .get_compiler();
    let mut cmd = compiler.to_command();
    cmd.args(["-shared", "-fPIC", "-O2", "-Wall", "-o"])
        .arg(&lib)
        .arg(src)
        .arg("-ldl");
    let status = cmd
        .status()
        .unwrap_or_else(|e| panic!("cannot run the C compiler for {src}: {e}"));
    assert!(status.success(), "building {src} failed ({status})");
}
