//! Every conformance program prints the same thing each time it runs
//! natively; a program whose output depends on timing, PIDs or addresses
//! would make the differential tests flaky, so it fails here first.

use tests::{compile_c, diff_lines, program_source, run_native, timeout_from_env};

fn check(name: &str) {
    let bin = compile_c(&program_source(name)).unwrap_or_else(|e| panic!("{e}"));
    let timeout = timeout_from_env("CONFORMANCE_NATIVE_TIMEOUT", 60);
    let first = run_native(&bin, timeout).unwrap_or_else(|e| panic!("running {name}: {e}"));
    let second = run_native(&bin, timeout).unwrap_or_else(|e| panic!("running {name}: {e}"));
    assert!(
        !first.timed_out && !second.timed_out,
        "{name} timed out natively"
    );
    assert!(
        !first.stdout.is_empty(),
        "{name} printed nothing natively; stderr:\n{}",
        first.stderr_str()
    );
    assert!(
        !first.stdout_str().contains("FATAL"),
        "{name} hit a FATAL check natively:\n{}",
        first.stdout_str()
    );
    assert!(
        first.stdout == second.stdout && first.status == second.status,
        "{name} is not deterministic natively ({} vs {}):\n{}",
        first.status_str(),
        second.status_str(),
        diff_lines(&first.stdout_str(), &second.stdout_str())
    );
}

macro_rules! determinism_tests {
    ($($name:ident),* $(,)?) => {
        $(
            #[test]
            fn $name() {
                check(stringify!($name));
            }
        )*
    };
}

tests::for_each_program!(determinism_tests);
