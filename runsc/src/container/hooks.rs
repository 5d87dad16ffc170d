//! OCI hooks: programs the spec names to run at points of the container's
//! life, each given the container's state as JSON on its standard input.
//!
//! They run on the host (the runtime's namespaces), as runc runs
//! `prestart`, `createRuntime`, `poststart` and `poststop`. The hooks runc
//! runs in the container's namespaces (`createContainer`,
//! `startContainer`) have no host process to run in here, since the
//! container's processes live inside the sandbox's kernel: `createContainer`
//! runs on the host with the others, `startContainer` is refused at create.

use super::OciState;
use oci_spec::runtime::Hook;
use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// Which hooks are running, for messages.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Stage {
    Prestart,
    CreateRuntime,
    CreateContainer,
    Poststart,
    Poststop,
}

impl Stage {
    pub fn name(self) -> &'static str {
        match self {
            Stage::Prestart => "prestart",
            Stage::CreateRuntime => "createRuntime",
            Stage::CreateContainer => "createContainer",
            Stage::Poststart => "poststart",
            Stage::Poststop => "poststop",
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum HookError {
    #[error("{stage} hook #{index} ({}) could not be started", path.display())]
    Spawn {
        stage: &'static str,
        index: usize,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{stage} hook #{index} ({}) failed: {status}{}", path.display(), output_note(stderr))]
    Failed {
        stage: &'static str,
        index: usize,
        path: PathBuf,
        status: std::process::ExitStatus,
        stderr: String,
    },
    #[error("{stage} hook #{index} ({}) did not finish within its timeout of {timeout} s and was killed", path.display())]
    TimedOut {
        stage: &'static str,
        index: usize,
        path: PathBuf,
        timeout: i64,
    },
    #[error("{stage} hook #{index} ({}) has a timeout of {timeout}: it must be more than 0 seconds", path.display())]
    BadTimeout {
        stage: &'static str,
        index: usize,
        path: PathBuf,
        timeout: i64,
    },
}

fn output_note(stderr: &str) -> String {
    let text = stderr.trim();
    if text.is_empty() {
        String::new()
    } else {
        format!(": {text}")
    }
}

/// Runs `hooks` in order, each with `state` on its standard input; stops
/// at the first that fails.
pub fn run(stage: Stage, hooks: &[Hook], state: &OciState<'_>) -> Result<(), HookError> {
    let json = serde_json::to_vec(state).expect("the OCI state serializes");
    for (index, hook) in hooks.iter().enumerate() {
        tracing::debug!(stage = stage.name(), path = %hook.path().display(), "running hook");
        run_one(stage, index, hook, &json)?;
    }
    Ok(())
}

/// Runs `hooks` as [`run`] does, but a failure is only logged as a
/// warning and the later hooks still run (what the spec asks for
/// `poststart` and `poststop`).
pub fn run_warn(stage: Stage, hooks: &[Hook], state: &OciState<'_>) {
    let json = serde_json::to_vec(state).expect("the OCI state serializes");
    for (index, hook) in hooks.iter().enumerate() {
        if let Err(err) = run_one(stage, index, hook, &json) {
            tracing::warn!("{:#}", anyhow::Error::new(err));
        }
    }
}

fn run_one(stage: Stage, position: usize, hook: &Hook, state: &[u8]) -> Result<(), HookError> {
    let stage_name = stage.name();
    // Counted from 1 in messages.
    let index = position + 1;
    let path = hook.path().clone();
    if let Some(t) = hook.timeout() {
        if t <= 0 {
            return Err(HookError::BadTimeout {
                stage: stage_name,
                index,
                path,
                timeout: t,
            });
        }
    }
    let mut command = Command::new(&path);
    if let Some(args) = hook.args() {
        if let Some((first, rest)) = args.split_first() {
            use std::os::unix::process::CommandExt;
            command.arg0(first).args(rest);
        }
    }
    command.env_clear();
    for entry in hook.env().iter().flatten() {
        if let Some((name, value)) = entry.split_once('=') {
            command.env(name, value);
        }
    }
    command
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    let mut child = command.spawn().map_err(|source| HookError::Spawn {
        stage: stage_name,
        index,
        path: path.clone(),
        source,
    })?;
    let stderr_reader = child.stderr.take().map(|mut e| {
        std::thread::spawn(move || {
            use std::io::Read;
            let mut text = String::new();
            let _ = e.read_to_string(&mut text);
            text
        })
    });
    if let Some(mut stdin) = child.stdin.take() {
        // A hook that does not read its input may close it early.
        let _ = stdin.write_all(state);
    }
    let deadline = hook
        .timeout()
        .map(|t| Instant::now() + Duration::from_secs(t as u64));
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break status,
            Ok(None) => {}
            Err(source) => {
                return Err(HookError::Spawn {
                    stage: stage_name,
                    index,
                    path,
                    source,
                })
            }
        }
        if deadline.is_some_and(|d| Instant::now() >= d) {
            let _ = child.kill();
            let _ = child.wait();
            return Err(HookError::TimedOut {
                stage: stage_name,
                index,
                path,
                timeout: hook.timeout().unwrap_or_default(),
            });
        }
        std::thread::sleep(Duration::from_millis(5));
    };
    let stderr = stderr_reader
        .and_then(|r| r.join().ok())
        .unwrap_or_default();
    if status.success() {
        Ok(())
    } else {
        Err(HookError::Failed {
            stage: stage_name,
            index,
            path,
            status,
            stderr,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::container::State;
    use crate::testutil::TempDir;
    use oci_spec::runtime::HookBuilder;

    fn hook(script: &str, timeout: Option<i64>) -> Hook {
        let mut b = HookBuilder::default()
            .path("/bin/sh")
            .args(vec!["sh".to_string(), "-c".into(), script.into()])
            .env(vec!["GREETING=hello".to_string()]);
        if let Some(t) = timeout {
            b = b.timeout(t);
        }
        b.build().unwrap()
    }

    fn state() -> State {
        State {
            id: "web".into(),
            bundle: "/b".into(),
            ..Default::default()
        }
    }

    #[test]
    fn a_hook_gets_the_state_and_its_environment() {
        let dir = TempDir::new();
        let out = dir.path().join("out");
        let script = format!("cat > {0}; echo \" $GREETING\" >> {0}", out.display());
        run(
            Stage::Poststart,
            &[hook(&script, None)],
            &state().oci_state(),
        )
        .unwrap();
        let text = std::fs::read_to_string(&out).unwrap();
        let (json, rest) = text.rsplit_once(' ').unwrap();
        let v: serde_json::Value = serde_json::from_str(json).unwrap();
        assert_eq!(v["id"], "web");
        assert_eq!(rest.trim(), "hello");
    }

    #[test]
    fn failures_and_timeouts_are_named() {
        let s = state();
        let err = run(
            Stage::CreateRuntime,
            &[hook("echo bad >&2; exit 2", None)],
            &s.oci_state(),
        )
        .unwrap_err()
        .to_string();
        assert!(
            err.starts_with("createRuntime hook #1 (/bin/sh) failed: exit status: 2: bad"),
            "{err}"
        );
        let err = run(Stage::Prestart, &[hook("sleep 5", Some(1))], &s.oci_state())
            .unwrap_err()
            .to_string();
        assert_eq!(
            err,
            "prestart hook #1 (/bin/sh) did not finish within its timeout of 1 s and was killed"
        );
        let err = run(Stage::Prestart, &[hook("true", Some(0))], &s.oci_state())
            .unwrap_err()
            .to_string();
        assert!(err.contains("must be more than 0 seconds"), "{err}");
        // The rest still run after a warning.
        let dir = TempDir::new();
        let out = dir.path().join("ran");
        run_warn(
            Stage::Poststop,
            &[
                hook("exit 1", None),
                hook(&format!("touch {}", out.display()), None),
            ],
            &s.oci_state(),
        );
        assert!(out.exists());
    }
}
