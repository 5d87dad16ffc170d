//! Hostile programs: the sentry must give the errno or signal Linux would
//! and keep running, whatever the application throws at it.

use std::process::Command;
use std::time::Duration;
use tests::{compile_c, run, runsc_bin, workspace_root};

#[test]
fn random_system_calls_never_bring_the_sentry_down() {
    let src = workspace_root().join("tests/hostile/syscall_fuzz.c");
    let bin = compile_c(&src).unwrap_or_else(|e| panic!("{e}"));
    let runsc = runsc_bin().unwrap_or_else(|e| panic!("{e}"));
    for seed in ["1", "2", "3"] {
        let mut cmd = Command::new(&runsc);
        cmd.args(tests::runsc_extra_flags())
            .arg("do")
            .arg("--cwd")
            .arg("/")
            .arg(&bin)
            .arg(seed);
        let out = run(&mut cmd, Duration::from_secs(180)).expect("runsc runs");
        let stderr = out.stderr_str();
        assert!(
            !stderr.contains("panicked"),
            "seed {seed}: the sentry panicked:\n{stderr}"
        );
        assert_eq!(
            out.status,
            Some(0),
            "seed {seed}: {}\n{stderr}",
            out.status_str()
        );
        assert!(
            out.stdout_str().starts_with("alive after fuzzing"),
            "seed {seed}: {}",
            out.stdout_str()
        );
    }
}
