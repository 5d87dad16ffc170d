//! The built `runsc` binary, driven as a person or an engine drives it.

use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::atomic::{AtomicU32, Ordering};

struct TempDir(PathBuf);

impl TempDir {
    fn new() -> TempDir {
        static NEXT: AtomicU32 = AtomicU32::new(0);
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        let path = std::env::temp_dir().join(format!("runsc-cli-{}-{n}", std::process::id()));
        std::fs::create_dir_all(&path).unwrap();
        TempDir(path)
    }

    fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn runsc_in(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_runsc"))
        .args(args)
        .current_dir(dir)
        .output()
        .expect("run runsc")
}

fn runsc(args: &[&str]) -> Output {
    runsc_in(&std::env::temp_dir(), args)
}

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

fn exit_code(output: &Output) -> i32 {
    output.status.code().expect("exited normally")
}

/// The JSON lines of a log file.
fn log_lines(path: &Path) -> Vec<Value> {
    std::fs::read_to_string(path)
        .unwrap_or_else(|err| panic!("read {}: {err}", path.display()))
        .lines()
        .map(|line| serde_json::from_str(line).unwrap_or_else(|err| panic!("{line}: {err}")))
        .collect()
}

fn write_state(root: &Path, id: &str, state: Value) {
    std::fs::create_dir_all(root.join(id)).unwrap();
    std::fs::write(root.join(id).join("state.json"), state.to_string()).unwrap();
}

fn stopped_state(id: &str) -> Value {
    serde_json::json!({
        "ociVersion": "1.1.0",
        "id": id,
        "status": "stopped",
        "bundle": "/bundles/web",
        "created": "2024-05-01T12:00:00.000000000Z",
        "annotations": { "org.example/key": "value" },
        "owner": "root"
    })
}

#[test]
fn version() {
    let output = runsc(&["--version"]);
    assert_eq!(exit_code(&output), 0);
    let text = stdout(&output);
    assert!(text.starts_with("runsc-rs version "), "{text}");
    assert!(text.contains("\nspec: 1.1.0\n"), "{text}");
    assert_eq!(stdout(&runsc(&["-v"])), text);
}

#[test]
fn spec_writes_config_json_once() {
    let dir = TempDir::new();
    let output = runsc_in(dir.path(), &["spec"]);
    assert_eq!(exit_code(&output), 0, "{}", stderr(&output));
    let config = dir.path().join("config.json");
    let text = std::fs::read_to_string(&config).unwrap();
    let spec: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(spec["ociVersion"], "1.1.0");
    assert_eq!(spec["process"]["terminal"], true);
    assert_eq!(spec["process"]["args"][0], "sh");
    assert_eq!(spec["root"]["path"], "rootfs");
    assert_eq!(spec["hostname"], "runsc");

    let output = runsc_in(dir.path(), &["spec"]);
    assert_eq!(exit_code(&output), 1);
    assert!(
        stderr(&output).contains("config.json already exists"),
        "{}",
        stderr(&output)
    );
    assert_eq!(std::fs::read_to_string(&config).unwrap(), text);
}

#[test]
fn spec_into_a_bundle_with_a_command() {
    let dir = TempDir::new();
    let bundle = dir.path().to_str().unwrap();
    let output = runsc(&[
        "spec",
        "--bundle",
        bundle,
        "--rootless",
        "--",
        "sleep",
        "-n",
    ]);
    assert_eq!(exit_code(&output), 0, "{}", stderr(&output));
    let text = std::fs::read_to_string(dir.path().join("config.json")).unwrap();
    let spec: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(spec["process"]["args"], serde_json::json!(["sleep", "-n"]));
    assert!(spec["linux"]["uidMappings"].is_array());
}

#[test]
fn features_is_json() {
    let output = runsc(&["features"]);
    assert_eq!(exit_code(&output), 0);
    let features: Value = serde_json::from_str(&stdout(&output)).unwrap();
    assert_eq!(features["ociVersionMax"], "1.1.0");
    assert_eq!(features["ociVersionMin"], "1.0.0");
    assert!(features["linux"]["namespaces"].is_array());
}

#[test]
fn checkpoint_and_restore_help_list_runc_flags() {
    let output = runsc(&["checkpoint", "--help"]);
    assert_eq!(exit_code(&output), 0);
    let help = stdout(&output);
    for flag in [
        "--image-path",
        "--work-path",
        "--leave-running",
        "--tcp-established",
        "--ext-unix-sk",
        "--shell-job",
        "--lazy-pages",
        "--status-fd",
        "--page-server",
        "--file-locks",
        "--pre-dump",
        "--parent-path",
        "--manage-cgroups-mode",
        "--empty-ns",
        "--auto-dedup",
        "--lsm-profile",
        "--lsm-mount-context",
    ] {
        assert!(help.contains(flag), "checkpoint --help lacks {flag}");
    }

    let output = runsc(&["restore", "--help"]);
    assert_eq!(exit_code(&output), 0);
    let help = stdout(&output);
    for flag in [
        "--image-path",
        "--work-path",
        "--bundle",
        "--pid-file",
        "--detach",
        "--console-socket",
        "--no-subreaper",
        "--no-pivot",
        "--tcp-established",
        "--ext-unix-sk",
        "--shell-job",
        "--file-locks",
        "--lazy-pages",
    ] {
        assert!(help.contains(flag), "restore --help lacks {flag}");
    }
    assert_eq!(exit_code(&runsc(&["help", "checkpoint"])), 0);
}

#[test]
fn state_of_an_unknown_container_names_it() {
    let dir = TempDir::new();
    let root = dir.path().to_str().unwrap();
    let output = runsc(&["--root", root, "state", "unknown-id"]);
    assert_eq!(exit_code(&output), 1);
    let text = stderr(&output);
    assert!(text.contains("\\\"unknown-id\\\" does not exist"), "{text}");
}

#[test]
fn list_on_an_empty_root() {
    let dir = TempDir::new();
    let root = dir.path().to_str().unwrap();
    let output = runsc(&["--root", root, "list"]);
    assert_eq!(exit_code(&output), 0, "{}", stderr(&output));
    assert_eq!(
        stdout(&output),
        "ID          PID         STATUS      BUNDLE      CREATED     OWNER\n"
    );
    assert_eq!(
        stdout(&runsc(&["--root", root, "list", "--format", "json"])),
        "[]\n"
    );
    assert_eq!(stdout(&runsc(&["--root", root, "list", "-q"])), "");

    let missing = dir.path().join("missing");
    let output = runsc(&["--root", missing.to_str().unwrap(), "list"]);
    assert_eq!(exit_code(&output), 1);
    assert!(
        stderr(&output).contains("does not exist"),
        "{}",
        stderr(&output)
    );
}

#[test]
fn state_list_and_delete_of_a_stopped_container() {
    let dir = TempDir::new();
    let root = dir.path().to_str().unwrap();
    write_state(dir.path(), "web", stopped_state("web"));

    let output = runsc(&["--root", root, "state", "web"]);
    assert_eq!(exit_code(&output), 0, "{}", stderr(&output));
    let state: Value = serde_json::from_str(&stdout(&output)).unwrap();
    assert_eq!(state["ociVersion"], "1.1.0");
    assert_eq!(state["id"], "web");
    assert_eq!(state["status"], "stopped");
    assert_eq!(state["pid"], 0);
    assert_eq!(state["bundle"], "/bundles/web");
    assert_eq!(state["annotations"]["org.example/key"], "value");

    let table = stdout(&runsc(&["--root", root, "list"]));
    let row = table.lines().nth(1).unwrap();
    assert!(row.starts_with("web "), "{table}");
    assert!(row.contains(" stopped "), "{table}");
    let listed: Value =
        serde_json::from_str(&stdout(&runsc(&["--root", root, "list", "-f", "json"]))).unwrap();
    assert_eq!(listed[0]["id"], "web");

    let output = runsc(&["--root", root, "delete", "web"]);
    assert_eq!(exit_code(&output), 0, "{}", stderr(&output));
    assert!(!dir.path().join("web").exists());
    assert_eq!(exit_code(&runsc(&["--root", root, "delete", "web"])), 1);
    assert_eq!(
        exit_code(&runsc(&["--root", root, "delete", "--force", "web"])),
        0
    );
}

#[test]
fn engine_flags_parse_and_errors_reach_the_json_log() {
    let dir = TempDir::new();
    let log = dir.path().join("log.json");
    let root = dir.path().join("x");
    let output = runsc(&[
        "--root",
        root.to_str().unwrap(),
        "--log",
        log.to_str().unwrap(),
        "--log-format",
        "json",
        "--systemd-cgroup",
        "state",
        "foo",
    ]);
    assert_eq!(exit_code(&output), 1);
    assert!(
        stderr(&output).contains("\"foo\" does not exist"),
        "{}",
        stderr(&output)
    );
    let lines = log_lines(&log);
    let last = lines.last().expect("an error in the log");
    assert_eq!(last["level"], "error");
    let msg = last["msg"].as_str().unwrap();
    assert!(msg.starts_with("container \"foo\" does not exist"), "{msg}");
    assert!(last["time"].as_str().unwrap().ends_with('Z'));
}

#[test]
fn go_style_flags_and_unknown_global_flags() {
    let dir = TempDir::new();
    let log = dir.path().join("log.json");
    let root = dir.path().to_str().unwrap();
    let log_flag = format!("-log={}", log.display());
    let output = runsc(&[
        "-root",
        root,
        &log_flag,
        "-log-format",
        "json",
        "-debug=false",
        "--overlay2",
        "root:memory",
        "--file-access=shared",
        "list",
        "-q",
    ]);
    assert_eq!(exit_code(&output), 0, "{}", stderr(&output));
    let warnings: Vec<String> = log_lines(&log)
        .iter()
        .filter(|line| line["level"] == "warning")
        .map(|line| line["msg"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(
        warnings,
        [
            "ignoring unknown global flag --overlay2 root:memory",
            "ignoring unknown global flag --file-access=shared"
        ]
    );
}

#[test]
fn usage_errors_reach_the_json_log() {
    let dir = TempDir::new();
    let log = dir.path().join("log.json");
    let output = runsc(&[
        "--log",
        log.to_str().unwrap(),
        "--log-format",
        "json",
        "state",
        "--no-such-flag",
        "id",
    ]);
    assert_eq!(exit_code(&output), 1);
    assert!(stderr(&output).contains("--no-such-flag"));
    let lines = log_lines(&log);
    assert_eq!(lines.len(), 1);
    assert_eq!(
        lines[0]["msg"],
        "unexpected argument '--no-such-flag' found"
    );
}

#[test]
fn create_reports_bundle_problems_before_anything_else() {
    let dir = TempDir::new();
    let root = dir.path().join("root");
    let bundle = dir.path().join("bundle");
    std::fs::create_dir_all(bundle.join("rootfs")).unwrap();
    std::fs::write(bundle.join("config.json"), "{\n  \"process\": {,\n}").unwrap();
    let create = |id: &str| {
        runsc(&[
            "--root",
            root.to_str().unwrap(),
            "create",
            "--bundle",
            bundle.to_str().unwrap(),
            id,
        ])
    };

    let output = create("web");
    assert_eq!(exit_code(&output), 1);
    let text = stderr(&output);
    assert!(
        text.contains(&format!(
            "{}: malformed JSON at line 2, column 15",
            bundle.join("config.json").display()
        )),
        "{text}"
    );

    let output = create("a/b");
    assert!(
        stderr(&output).contains("invalid container ID \\\"a/b\\\""),
        "{}",
        stderr(&output)
    );

    assert_eq!(exit_code(&runsc_in(&bundle, &["spec", "--", "true"])), 1);
    std::fs::remove_file(bundle.join("config.json")).unwrap();
    assert_eq!(exit_code(&runsc_in(&bundle, &["spec", "--", "true"])), 0);
    // The example spec asks for a terminal, which needs a console socket.
    let output = create("web");
    assert_eq!(exit_code(&output), 1);
    assert!(
        stderr(&output).contains("process.terminal is set in")
            && stderr(&output).contains("no --console-socket was given"),
        "{}",
        stderr(&output)
    );
    // Nothing of the container is left.
    let output = runsc(&["--root", root.to_str().unwrap(), "state", "web"]);
    assert!(
        stderr(&output).contains("does not exist"),
        "{}",
        stderr(&output)
    );
}

#[test]
fn kill_checks_the_signal() {
    let dir = TempDir::new();
    let root = dir.path().to_str().unwrap();
    let output = runsc(&["--root", root, "kill", "web", "SIGBOGUS"]);
    assert_eq!(exit_code(&output), 1);
    assert!(
        stderr(&output).contains("unknown signal"),
        "{}",
        stderr(&output)
    );

    write_state(dir.path(), "web", stopped_state("web"));
    let output = runsc(&["--root", root, "kill", "web", "KILL"]);
    assert_eq!(exit_code(&output), 1);
    assert!(
        stderr(&output).contains("cannot kill container \\\"web\\\": container not running"),
        "{}",
        stderr(&output)
    );
}

#[test]
fn do_needs_a_command_and_checks_its_flags() {
    assert_eq!(exit_code(&runsc(&["do"])), 1);
    let output = runsc(&["do", "--env", "NOVALUE", "true"]);
    assert_eq!(exit_code(&output), 1);
    assert!(
        stderr(&output).contains("--env \\\"NOVALUE\\\": expected NAME=value"),
        "{}",
        stderr(&output)
    );
}

#[test]
fn containerds_single_dash_flags_parse() {
    let dir = TempDir::new();
    let root = dir.path().to_str().unwrap();
    // containerd's restore passes -no-subreaper with a single dash.
    let output = runsc(&[
        "--root",
        root,
        "restore",
        "-no-subreaper",
        "--image-path",
        root,
        "--bundle",
        root,
        "web",
    ]);
    assert_eq!(exit_code(&output), 1);
    assert!(
        !stderr(&output).contains("unexpected argument"),
        "{}",
        stderr(&output)
    );
}
