//! The command line: argument structs only, one file per command. What a
//! command does lives in `crate::commands`.

pub mod argv;
pub mod boot;
pub mod checkpoint;
pub mod create;
pub mod delete;
pub mod r#do;
pub mod events;
pub mod exec;
pub mod features;
pub mod global;
pub mod kill;
pub mod list;
pub mod pause;
pub mod ps;
pub mod restore;
pub mod resume;
pub mod run;
pub mod spec;
pub mod start;
pub mod state;
pub mod statefile;
pub mod syscalls;
pub mod update;
pub mod wait;

pub use global::GlobalOpts;

use clap::{Parser, Subcommand};

/// Runs containers on a user-space kernel: every system call of the
/// application is served by the sandbox, never by the host.
#[derive(Parser, Debug)]
#[command(name = "runsc", disable_version_flag = true)]
pub struct Cli {
    #[command(flatten)]
    pub global: GlobalOpts,

    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Create a container from a bundle, ready to start
    Create(create::Create),
    /// Start the process of a created container
    Start(start::Start),
    /// Create a container and start it
    Run(run::Run),
    /// Print the state of a container as JSON
    State(state::State),
    /// Send a signal to a container
    Kill(kill::Kill),
    /// Delete a container and what it holds
    Delete(delete::Delete),
    /// List containers
    List(list::List),
    /// Run another process in a running container
    Exec(exec::Exec),
    /// List the processes of a container (PIDs as the container sees them)
    Ps(ps::Ps),
    /// Show a container's events and resource usage
    Events(events::Events),
    /// Suspend every process of a container
    Pause(pause::Pause),
    /// Resume a paused container
    Resume(resume::Resume),
    /// Wait for a container or one of its processes to exit
    Wait(wait::Wait),
    /// Change the resource limits of a container
    Update(update::Update),
    /// Write an example config.json
    Spec(spec::Spec),
    /// Print the features of this runtime as JSON
    Features(features::Features),
    /// Save a container's state to an image
    Checkpoint(checkpoint::Checkpoint),
    /// Bring a container back from an image
    Restore(restore::Restore),
    /// Run a command in a sandbox on the host's root filesystem
    Do(r#do::Do),
    /// Run the sandbox (started by create; not meant to be run by hand)
    #[command(hide = true)]
    Boot(boot::Boot),
    /// Describe what a checkpoint image holds
    Statefile(statefile::Statefile),
    /// List the system calls the sandbox supports, partly supports, or lacks
    Syscalls(syscalls::Syscalls),
}

impl Command {
    /// The command's name as typed on the command line.
    pub fn name(&self) -> &'static str {
        match self {
            Command::Create(_) => "create",
            Command::Start(_) => "start",
            Command::Run(_) => "run",
            Command::State(_) => "state",
            Command::Kill(_) => "kill",
            Command::Delete(_) => "delete",
            Command::List(_) => "list",
            Command::Exec(_) => "exec",
            Command::Ps(_) => "ps",
            Command::Events(_) => "events",
            Command::Pause(_) => "pause",
            Command::Resume(_) => "resume",
            Command::Wait(_) => "wait",
            Command::Update(_) => "update",
            Command::Spec(_) => "spec",
            Command::Features(_) => "features",
            Command::Checkpoint(_) => "checkpoint",
            Command::Restore(_) => "restore",
            Command::Do(_) => "do",
            Command::Boot(_) => "boot",
            Command::Statefile(_) => "statefile",
            Command::Syscalls(_) => "syscalls",
        }
    }
}

/// Only the global flags: how to log a command line that does not parse.
#[derive(Parser, Debug)]
#[command(name = "runsc", disable_version_flag = true, disable_help_flag = true)]
pub struct GlobalsOnly {
    #[command(flatten)]
    pub global: GlobalOpts,
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    fn parse(args: &[&str]) -> Result<Cli, clap::Error> {
        let args = argv::normalize(
            &argv::built_command(),
            args.iter().map(Into::into).collect(),
        );
        Cli::try_parse_from(args.args)
    }

    #[test]
    fn the_command_line_is_well_formed() {
        Cli::command().debug_assert();
    }

    #[test]
    fn names_match_clap() {
        let cli = parse(&["runsc", "do", "true"]).unwrap();
        assert_eq!(cli.command.unwrap().name(), "do");
        let command = Cli::command();
        for sub in command.get_subcommands() {
            let name = sub.get_name();
            let mut args = vec!["runsc", name];
            args.extend(match name {
                "delete" | "start" | "state" | "pause" | "resume" | "kill" | "ps" | "events"
                | "wait" | "update" | "checkpoint" | "restore" | "create" | "run" | "exec" => {
                    &["id"][..]
                }
                "do" => &["true"][..],
                "boot" => &["--bundle", "/b", "--control-fd", "3", "id"][..],
                "statefile" => &["/img"][..],
                _ => &[][..],
            });
            let cli = parse(&args).unwrap_or_else(|err| panic!("{name}: {err}"));
            assert_eq!(cli.command.unwrap().name(), name);
        }
    }

    #[test]
    fn engine_flags_parse() {
        let cli = parse(&[
            "runsc",
            "--root",
            "/run/x",
            "--log",
            "/tmp/log.json",
            "--log-format",
            "json",
            "--systemd-cgroup",
            "--debug",
            "--rootless=false",
            "create",
            "--bundle",
            "/b",
            "--pid-file",
            "/p",
            "--console-socket",
            "/s",
            "--no-pivot",
            "--no-new-keyring",
            "--preserve-fds",
            "2",
            "id",
        ])
        .unwrap();
        assert_eq!(cli.global.root.as_deref(), Some("/run/x".as_ref()));
        assert!(cli.global.log_format.is_json());
        assert_eq!(cli.global.rootless, Some(global::Rootless::False));
        let Some(Command::Create(create)) = cli.command else {
            panic!("not create")
        };
        assert_eq!(create.preserve_fds, 2);
        assert_eq!(create.container_id, "id");
    }

    #[test]
    fn do_passes_the_command_through() {
        let cli = parse(&[
            "runsc", "do", "--cwd", "/tmp", "--env", "A=1", "ls", "-la", "--cwd",
        ])
        .unwrap();
        let Some(Command::Do(d)) = cli.command else {
            panic!()
        };
        assert_eq!(d.command, ["ls", "-la", "--cwd"]);
        assert_eq!(d.env, ["A=1"]);

        let cli = parse(&["runsc", "do", "sh", "-c", "echo -x --strace"]).unwrap();
        let Some(Command::Do(d)) = cli.command else {
            panic!()
        };
        assert_eq!(d.command, ["sh", "-c", "echo -x --strace"]);
        assert!(!d.strace);

        assert!(parse(&["runsc", "do"]).is_err());
    }

    #[test]
    fn exec_and_ps_pass_their_arguments_through() {
        let cli = parse(&[
            "runsc", "exec", "-t", "--env", "A=1", "id", "sh", "-c", "-t",
        ])
        .unwrap();
        let Some(Command::Exec(e)) = cli.command else {
            panic!()
        };
        assert!(e.tty);
        assert_eq!(e.command, ["sh", "-c", "-t"]);

        let cli = parse(&["runsc", "ps", "id", "-ef"]).unwrap();
        let Some(Command::Ps(p)) = cli.command else {
            panic!()
        };
        assert_eq!(p.ps_args, ["-ef"]);
    }

    #[test]
    fn kill_takes_an_optional_signal() {
        let Some(Command::Kill(k)) = parse(&["runsc", "kill", "id"]).unwrap().command else {
            panic!()
        };
        assert_eq!(k.signal, "SIGTERM");
        let Some(Command::Kill(k)) = parse(&["runsc", "kill", "--all", "id", "KILL"])
            .unwrap()
            .command
        else {
            panic!()
        };
        assert!(k.all);
        assert_eq!(k.signal, "KILL");
    }

    #[test]
    fn checkpoint_and_restore_take_runc_flags() {
        let cli = parse(&[
            "runsc",
            "checkpoint",
            "--image-path",
            "/i",
            "--work-path",
            "/w",
            "--leave-running",
            "--tcp-established",
            "--ext-unix-sk",
            "--shell-job",
            "--file-locks",
            "--status-fd",
            "-1",
            "--empty-ns",
            "network",
            "--manage-cgroups-mode",
            "soft",
            "id",
        ])
        .unwrap();
        let Some(Command::Checkpoint(c)) = cli.command else {
            panic!()
        };
        assert!(c.leave_running);
        assert_eq!(c.status_fd, -1);
        assert_eq!(c.empty_ns, ["network"]);

        let cli = parse(&[
            "runsc",
            "restore",
            "--image-path",
            "/i",
            "--bundle",
            "/b",
            "--pid-file",
            "/p",
            "--detach",
            "--console-socket",
            "/s",
            "--no-subreaper",
            "--no-pivot",
            "id",
        ])
        .unwrap();
        let Some(Command::Restore(r)) = cli.command else {
            panic!()
        };
        assert!(r.detach && r.no_subreaper);
    }

    #[test]
    fn spec_takes_a_command_after_double_dash() {
        let cli = parse(&["runsc", "spec", "--bundle", "/b", "--", "sleep", "-x"]).unwrap();
        let Some(Command::Spec(s)) = cli.command else {
            panic!()
        };
        assert_eq!(s.command, ["sleep", "-x"]);
    }

    #[test]
    fn version_flag_without_a_command() {
        assert!(parse(&["runsc", "--version"]).unwrap().global.version);
        assert!(parse(&["runsc", "-v"]).unwrap().global.version);
        assert!(parse(&["runsc", "-version"]).unwrap().global.version);
    }
}
