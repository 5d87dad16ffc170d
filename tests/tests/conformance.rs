//! Differential conformance: every program in `tests/conformance/` runs
//! natively and under `runsc do`, and the two runs must print the same
//! stdout and end with the same status.
//!
//! Programs named in `tests/conformance/KNOWN_FAILURES` are expected to
//! differ still; for them the test checks that they do, so a program that
//! starts to match fails its test until its line is removed.
//!
//! Timeouts (seconds) can be changed with `CONFORMANCE_NATIVE_TIMEOUT`
//! (default 60) and `CONFORMANCE_SANDBOX_TIMEOUT` (default 60). The runsc
//! binary is found as [`tests::runsc_bin`] describes; `RUNSC_FLAGS` adds
//! global flags (e.g. `--debug`). Setting `CONFORMANCE_IGNORE_KNOWN=1` treats
//! every program as expected to match, to see the diffs of the known
//! failures too.

use std::collections::BTreeSet;
use std::fs;

use tests::{
    compile_c, diff_lines, known_failures, program_source, run_native, run_sandboxed, runsc_bin,
    sandbox_command_line, timeout_from_env, RunOutput, PROGRAMS,
};

/// What one run looked like, for the failure message.
fn describe(label: &str, out: &RunOutput) -> String {
    format!(
        "--- {label}: {}\n--- {label} stderr:\n{}",
        out.status_str(),
        out.stderr_str()
    )
}

fn check(name: &str) {
    // Fail first, and clearly, when there is no runsc to test.
    let runsc = runsc_bin().unwrap_or_else(|e| panic!("{e}"));
    let bin = compile_c(&program_source(name)).unwrap_or_else(|e| panic!("{e}"));

    let native = run_native(&bin, timeout_from_env("CONFORMANCE_NATIVE_TIMEOUT", 60))
        .unwrap_or_else(|e| panic!("running {} natively: {e}", bin.display()));
    assert!(
        !native.timed_out,
        "{name} timed out natively (a broken program, not a sandbox bug)\n{}",
        describe("native", &native)
    );
    let sandboxed = run_sandboxed(
        &runsc,
        &bin,
        timeout_from_env("CONFORMANCE_SANDBOX_TIMEOUT", 60),
    )
    .unwrap_or_else(|e| panic!("running {} under {}: {e}", bin.display(), runsc.display()));

    let same = !sandboxed.timed_out
        && native.stdout == sandboxed.stdout
        && native.status == sandboxed.status;
    let mut known = known_failures();
    if std::env::var_os("CONFORMANCE_IGNORE_KNOWN").is_some_and(|v| v != "0") {
        known.clear();
    }
    let report = || {
        format!(
            "stdout diff (- native, + sandbox):\n{}{}\n{}\nreproduce with:\n  {}\n",
            diff_lines(&native.stdout_str(), &sandboxed.stdout_str()),
            describe("native", &native),
            describe("sandbox", &sandboxed),
            sandbox_command_line(&runsc, &bin)
        )
    };
    match known.get(name) {
        None => assert!(
            same,
            "{name}: the sandbox differs from native Linux\n{}",
            report()
        ),
        Some(reason) => assert!(
            !same,
            "{name} now matches native Linux under the sandbox: remove its line \
             from tests/conformance/KNOWN_FAILURES (it said: {reason})"
        ),
    }
}

macro_rules! conformance_tests {
    ($($name:ident),* $(,)?) => {
        $(
            #[test]
            fn $name() {
                check(stringify!($name));
            }
        )*
    };
}

tests::for_each_program!(conformance_tests);

/// The program list in `tests/src/lib.rs` and the `.c` files agree.
#[test]
fn programs_are_listed() {
    let mut on_disk = BTreeSet::new();
    for entry in fs::read_dir(tests::conformance_dir()).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "c") {
            on_disk.insert(path.file_stem().unwrap().to_string_lossy().into_owned());
        }
    }
    let listed: BTreeSet<String> = PROGRAMS.iter().map(|s| s.to_string()).collect();
    let unlisted: Vec<_> = on_disk.difference(&listed).collect();
    let missing: Vec<_> = listed.difference(&on_disk).collect();
    assert!(
        unlisted.is_empty() && missing.is_empty(),
        "for_each_program! in tests/src/lib.rs is out of date: \
         programs not listed: {unlisted:?}; listed without a .c file: {missing:?}"
    );
}

/// Every line of KNOWN_FAILURES names a program and gives a reason.
#[test]
fn known_failures_name_programs() {
    for (name, reason) in known_failures() {
        assert!(
            PROGRAMS.contains(&name.as_str()),
            "KNOWN_FAILURES names {name:?}, which is not a conformance program"
        );
        assert!(
            !reason.is_empty(),
            "KNOWN_FAILURES: {name} needs a reason after '#'"
        );
    }
}
