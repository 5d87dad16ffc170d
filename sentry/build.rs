//! Builds the sandbox's vDSO (`vdso/vdso.c`) into `$OUT_DIR/vdso.so` with
//! the machine's gcc; `src/vdso` embeds the result.

use std::path::PathBuf;
use std::process::Command;

fn main() {
    let manifest = PathBuf::from(std::env::var_os("CARGO_MANIFEST_DIR").expect("set by cargo"));
    let out = PathBuf::from(std::env::var_os("OUT_DIR").expect("set by cargo"));
    let dir = manifest.join("vdso");
    let src = dir.join("vdso.c");
    let script = dir.join("vdso.lds");
    let versions = dir.join("vdso.ver");
    for f in [&src, &script, &versions] {
        println!("cargo:rerun-if-changed={}", f.display());
    }
    println!("cargo:rerun-if-env-changed=VDSO_CC");
    let target_arch = std::env::var("CARGO_CFG_TARGET_ARCH").unwrap_or_default();
    if target_arch != "x86_64" {
        panic!("the sentry's vDSO is written for x86_64, not {target_arch}");
    }
    let cc = std::env::var("VDSO_CC").unwrap_or_else(|_| "gcc".to_string());
    let image = out.join("vdso.so");
    let mut cmd = Command::new(&cc);
    cmd.args([
        "-shared",
        "-nostdlib",
        "-fPIC",
        "-O2",
        "-fno-stack-protector",
        "-fno-builtin",
        "-ffreestanding",
        "-fcf-protection=none",
        "-Wall",
        "-Wextra",
        "-Werror",
        "-Wl,-soname=linux-vdso.so.1",
        "-Wl,--hash-style=both",
        "-Wl,--no-undefined",
        "-Wl,-z,max-page-size=4096",
        "-Wl,--build-id=sha1",
        "-Wl,--eh-frame-hdr",
    ]);
    cmd.arg(format!("-Wl,--version-script={}", versions.display()));
    cmd.arg(format!("-Wl,-T,{}", script.display()));
    cmd.arg("-o").arg(&image).arg(&src);
    let status = match cmd.status() {
        Ok(s) => s,
        Err(e) => panic!(
            "building the sentry needs a C compiler for its vDSO: running `{cc}` failed: {e}. \
             Install gcc (Debian: apt-get install gcc), or name another compiler in VDSO_CC."
        ),
    };
    if !status.success() {
        panic!(
            "compiling the vDSO ({}) with `{cc}` failed: {status}",
            src.display()
        );
    }
}
