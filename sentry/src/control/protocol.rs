//! The messages of the control socket: one [`Request`] from the runtime,
//! one [`Reply`] from the sandbox, each a JSON document in one frame (see
//! [`super::wire`]). Descriptors travel beside a frame (`SCM_RIGHTS`):
//! an [`Request::Exec`] brings the new process's stdin, stdout and stderr;
//! a [`Request::Checkpoint`] brings the file the image is written into;
//! a [`Request::Network`] brings one packet socket per interface.

use crate::config::Rlimit;
use crate::kernel::task::ExitStatus;
use crate::kernel::Tid;
use serde::{Deserialize, Serialize};

/// What the runtime asks of the sandbox.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "request", rename_all = "snake_case")]
pub enum Request {
    /// Where the sandbox is in its life: [`Reply::State`].
    State,
    /// Lets the container's init run (it waits from boot until then).
    Start,
    /// Sends `signal` (0 only checks that the target exists).
    Signal {
        signal: i32,
        target: SignalTarget,
    },
    /// Stops every task until `Resume`.
    Pause,
    Resume,
    /// Replies [`Reply::Exited`] once the process has exited: init when
    /// `pid` is `None`, otherwise a process started by `Exec`.
    Wait {
        pid: Option<Tid>,
    },
    /// Every process: [`Reply::Processes`].
    Processes,
    /// Resource usage: [`Reply::Stats`].
    Stats,
    /// Starts a process; three descriptors (stdin, stdout, stderr) come
    /// with the request. Replies [`Reply::Started`].
    Exec(ExecSpec),
    /// Stops every task where it can be saved and writes the image into
    /// the one descriptor that comes with the request (a new, empty file
    /// open for writing, which the runtime renames into place). Replies
    /// [`Reply::Checkpointed`]. With `leave_running` the container goes on
    /// as before (a paused one stays paused); otherwise it is held paused
    /// until [`Request::FinishCheckpoint`] on the same connection, or
    /// resumed if that connection closes first.
    Checkpoint {
        /// The container's ID, recorded in the image.
        id: String,
        /// Where the image will be, to name it in messages.
        image: std::path::PathBuf,
        leave_running: bool,
    },
    /// After a checkpoint without `leave_running`: `stop` ends every
    /// process (the image is in place, the container stops); otherwise the
    /// image could not be kept and the container goes on as before.
    FinishCheckpoint {
        stop: bool,
    },
    /// The container's interfaces, taken by the runtime from the sandbox's
    /// network namespace once the engine's hooks have prepared it (see
    /// `net::host_if`): one `AF_PACKET` socket per interface comes with
    /// the request, in order. Sent once, before `Start`; a restored
    /// sandbox that expects it runs its tasks only once it came.
    Network {
        interfaces: Vec<NetInterface>,
    },
}

/// An interface of [`Request::Network`].
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct NetInterface {
    /// Name, MAC, MTU; the address and gateway the host interface had.
    pub conf: crate::net::ext::IfaceConf,
    /// The host interface had an IPv4 address (otherwise a restored
    /// sandbox uses the one its image saved for an interface of that name).
    pub has_addr: bool,
}

/// Which processes a signal goes to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SignalTarget {
    /// The container's init.
    Init,
    /// Every process.
    All,
    /// One process, by its PID in the sandbox.
    Process(Tid),
    /// The foreground process group of the terminal that the session of
    /// this process controls (the process itself when it has none): what
    /// a terminal's Ctrl-C reaches.
    ForegroundOf(Tid),
}

/// A process to start inside the sandbox.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExecSpec {
    pub argv: Vec<String>,
    pub env: Vec<String>,
    pub cwd: String,
    pub uid: u32,
    pub gid: u32,
    #[serde(default)]
    pub additional_gids: Vec<u32>,
    /// Limits of the process; those not named are init's.
    #[serde(default)]
    pub rlimits: Vec<Rlimit>,
    /// The descriptors are a terminal, which becomes the controlling
    /// terminal of the process's session.
    #[serde(default)]
    pub terminal: bool,
    #[serde(default)]
    pub no_new_privs: bool,
    /// Capability sets; `None`: all for UID 0, none for others.
    #[serde(default)]
    pub capabilities: Option<crate::kernel::caps::Caps>,
}

/// The sandbox's answer.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "reply", rename_all = "snake_case")]
pub enum Reply {
    /// The request was carried out.
    Done,
    /// The request was refused or failed; `message` says why.
    Error {
        message: String,
    },
    State(SandboxState),
    Started {
        pid: Tid,
    },
    Exited {
        pid: Tid,
        status: ExitStatus,
    },
    Processes {
        processes: Vec<ProcessInfo>,
    },
    Stats(Stats),
    /// The image was written: its metadata (as stored in its header) and
    /// what writing it cost.
    Checkpointed(Box<Checkpointed>),
}

/// What a checkpoint wrote.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Checkpointed {
    pub meta: crate::state::Meta,
    /// Bytes of the image file.
    pub bytes: u64,
    pub pages_saved: u64,
    pub zero_pages_skipped: u64,
    /// Time the tasks took to stop, and to write the image, microseconds.
    pub quiesce_us: u64,
    pub write_us: u64,
}

/// The container's status as the sandbox sees it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    /// Booted; init waits for `Start`.
    Created,
    Running,
    Paused,
    /// Init has exited.
    Stopped,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SandboxState {
    pub status: Status,
    /// Init's PID in the sandbox.
    pub init: Tid,
    /// Init's exit status, once it has exited.
    pub exit: Option<ExitStatus>,
}

/// One process, as `ps` shows it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProcessInfo {
    pub pid: Tid,
    /// 0 for init and for processes started by `Exec`.
    pub ppid: Tid,
    pub pgid: Tid,
    pub sid: Tid,
    pub uid: u32,
    /// One letter as in `/proc/<pid>/stat`: R, S, T, Z.
    pub state: char,
    pub threads: usize,
    /// Start time, nanoseconds since the Unix epoch.
    pub start_time: u64,
    /// User plus system CPU time, nanoseconds.
    pub cpu_time: u64,
    /// The process has a controlling terminal.
    pub tty: bool,
    /// The command name (`comm`).
    pub name: String,
    /// The arguments, when they can be read; empty otherwise.
    pub args: Vec<String>,
}

/// Resource usage of everything in the sandbox.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Stats {
    /// Bytes of application memory in use (the memory file's pages).
    pub memory_usage: u64,
    /// Threads (what a pids cgroup counts).
    pub pids: u64,
    pub processes: u64,
    /// CPU time of the live tasks, nanoseconds (estimates).
    pub cpu_user: u64,
    pub cpu_system: u64,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_on_the_wire() {
        let json = |r: &Request| serde_json::to_value(r).unwrap();
        assert_eq!(
            json(&Request::Start),
            serde_json::json!({"request": "start"})
        );
        assert_eq!(
            json(&Request::Signal {
                signal: 9,
                target: SignalTarget::Process(4)
            }),
            serde_json::json!({"request": "signal", "signal": 9, "target": {"process": 4}})
        );
        assert_eq!(
            json(&Request::Wait { pid: None }),
            serde_json::json!({"request": "wait", "pid": null})
        );
        assert_eq!(
            json(&Request::Checkpoint {
                id: "c".into(),
                image: "/i/checkpoint.img".into(),
                leave_running: true
            }),
            serde_json::json!({"request": "checkpoint", "id": "c",
                "image": "/i/checkpoint.img", "leave_running": true})
        );
        assert_eq!(
            json(&Request::FinishCheckpoint { stop: true }),
            serde_json::json!({"request": "finish_checkpoint", "stop": true})
        );
        let net = json(&Request::Network {
            interfaces: vec![NetInterface {
                conf: crate::net::ext::IfaceConf {
                    name: "eth0".into(),
                    index: 2,
                    mac: [2, 0, 0, 0, 0, 1],
                    mtu: 1500,
                    addr: "10.0.0.2".parse().unwrap(),
                    prefix: 24,
                    gateway: Some("10.0.0.1".parse().unwrap()),
                },
                has_addr: true,
            }],
        });
        assert_eq!(net["request"], "network");
        assert_eq!(net["interfaces"][0]["conf"]["addr"], "10.0.0.2");
        assert_eq!(net["interfaces"][0]["has_addr"], true);
        // Fields an older runtime leaves out take their defaults.
        let exec: Request = serde_json::from_value(serde_json::json!({
            "request": "exec", "argv": ["sh"], "env": [], "cwd": "/", "uid": 0, "gid": 0
        }))
        .unwrap();
        let Request::Exec(spec) = exec else {
            panic!("not exec")
        };
        assert!(!spec.terminal && spec.rlimits.is_empty() && spec.additional_gids.is_empty());
    }

    #[test]
    fn replies_round_trip() {
        for r in [
            Reply::Done,
            Reply::Error {
                message: "no".into(),
            },
            Reply::Exited {
                pid: 3,
                status: ExitStatus::Signaled {
                    sig: 9,
                    core: false,
                },
            },
            Reply::State(SandboxState {
                status: Status::Paused,
                init: 1,
                exit: None,
            }),
        ] {
            let text = serde_json::to_string(&r).unwrap();
            assert_eq!(serde_json::from_str::<Reply>(&text).unwrap(), r, "{text}");
        }
    }
}
