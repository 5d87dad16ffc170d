//! The command line as engines write it, made into one clap can parse.
//!
//! runc and runsc parse flags the Go way, so engines may write a long flag
//! with one dash (containerd passes `-no-subreaper`) and a boolean with a
//! value (`--debug=true`). Global flags that we do not know are dropped
//! rather than refused: an engine configured for another runtime must not
//! fail because of a flag that means nothing here.
//!
//! Which flags exist, which take a value and where a command's free-form
//! arguments begin are read from the clap definition itself, so the two
//! cannot drift apart. Everything after `--`, and everything from the
//! start of a command's trailing arguments (`do CMD...`, `exec ID CMD...`),
//! is passed on untouched.

use super::Cli;
use clap::{Arg, ArgAction, Command, CommandFactory};
use std::ffi::OsString;

/// The command line, ready for clap.
#[derive(Debug, Default)]
pub struct Normalized {
    pub args: Vec<OsString>,
    /// Unknown global flags that were dropped, each with its value if it
    /// had one.
    pub ignored: Vec<String>,
    /// Where in `args` the command name is, if one was found.
    pub command_at: Option<usize>,
}

/// The clap definition with its generated flags (`--help`) filled in.
pub fn built_command() -> Command {
    let mut command = Cli::command();
    command.build();
    command
}

/// Rewrites `args` (program name first) for clap; see the module comment.
pub fn normalize(root: &Command, args: Vec<OsString>) -> Normalized {
    let mut out = Normalized::default();
    let mut input = args.into_iter().peekable();
    if let Some(program) = input.next() {
        out.args.push(program);
    }
    let mut command = root;
    let mut at_root = true;
    let mut positionals = 0usize;

    while let Some(token) = input.next() {
        let text = token.to_string_lossy().into_owned();

        if text == "--" {
            out.args.push(token);
            out.args.extend(input);
            break;
        }

        if let Some(body) = long_flag_body(&text, command, at_root) {
            let (name, inline_value) = match body.split_once('=') {
                Some((name, value)) => (name, Some(value)),
                None => (body, None),
            };
            let as_long = if text.starts_with("--") {
                token
            } else {
                let mut long = OsString::from("-");
                long.push(&token);
                long
            };
            match find_long(command, name) {
                Some(arg) if is_switch(arg) => match inline_value.map(parse_go_bool) {
                    // `--debug=false`: as if the flag were absent.
                    Some(Some(false)) => {}
                    Some(Some(true)) => out.args.push(format!("--{name}").into()),
                    _ => out.args.push(as_long),
                },
                Some(arg) => {
                    if inline_value.is_some() || !takes_value(arg) {
                        out.args.push(as_long);
                    } else if value_is_optional(arg) {
                        // `--rootless true` means `--rootless=true`.
                        let joined = input
                            .next_if(|next| is_possible_value(arg, &next.to_string_lossy()))
                            .map(|value| {
                                let mut joined = as_long.clone();
                                joined.push("=");
                                joined.push(value);
                                joined
                            });
                        out.args.push(joined.unwrap_or(as_long));
                    } else {
                        out.args.push(as_long);
                        out.args.extend(input.next());
                    }
                }
                None if at_root => {
                    let mut dropped = text.clone();
                    if inline_value.is_none() {
                        let value = input.next_if(|next| {
                            let next = next.to_string_lossy();
                            !next.starts_with('-') && find_subcommand(root, &next).is_none()
                        });
                        if let Some(value) = value {
                            dropped.push(' ');
                            dropped.push_str(&value.to_string_lossy());
                        }
                    }
                    out.ignored.push(dropped);
                }
                None => out.args.push(as_long),
            }
            continue;
        }

        if text.len() > 1 && text.starts_with('-') {
            // Short flags, maybe several in one token (`-dt`); the last one
            // may take its value from the next token (`-b DIR`).
            out.args.push(token);
            let shorts: Vec<char> = text.chars().skip(1).collect();
            for (i, short) in shorts.iter().enumerate() {
                let Some(arg) = find_short(command, *short) else {
                    break;
                };
                if takes_value(arg) {
                    if i + 1 == shorts.len() && !value_is_optional(arg) {
                        out.args.extend(input.next());
                    }
                    break;
                }
            }
            continue;
        }

        if at_root {
            if let Some(sub) = find_subcommand(root, &text) {
                out.command_at = Some(out.args.len());
                command = sub;
                at_root = false;
            }
            out.args.push(token);
            continue;
        }

        out.args.push(token);
        if is_trailing(command, positionals) {
            out.args.extend(input);
            break;
        }
        positionals += 1;
        if is_trailing(command, positionals) && input.peek().is_some() {
            // Flags end where free-form arguments begin, as with Go's flag
            // parsing: `ps ID -ef`, `exec ID sh -c ...`.
            if input.peek().is_some_and(|next| next != "--") {
                out.args.push("--".into());
            }
            out.args.extend(input);
            break;
        }
    }
    out
}

/// Whether the positional argument at `index` takes everything after it.
fn is_trailing(command: &Command, index: usize) -> bool {
    command
        .get_positionals()
        .nth(index)
        .is_some_and(|arg| arg.is_trailing_var_arg_set() || arg.is_last_set())
}

/// The text after the dashes if `text` is a long flag: `--name[=v]`, or
/// `-name[=v]` when `name` is a long flag of `command`. At the root, any
/// single-dash word that is not a known short flag counts as a (Go-style)
/// long flag, so that unknown global flags are recognised.
fn long_flag_body<'t>(text: &'t str, command: &Command, at_root: bool) -> Option<&'t str> {
    if let Some(body) = text.strip_prefix("--") {
        return Some(body);
    }
    let body = text.strip_prefix('-')?;
    let name = body.split('=').next().unwrap_or(body);
    if name.chars().count() < 2 {
        return None;
    }
    if find_long(command, name).is_some() {
        return Some(body);
    }
    let all_shorts = name.chars().all(|c| find_short(command, c).is_some());
    (at_root && !all_shorts).then_some(body)
}

fn find_long<'c>(command: &'c Command, name: &str) -> Option<&'c Arg> {
    command.get_arguments().find(|arg| {
        arg.get_long() == Some(name)
            || arg
                .get_all_aliases()
                .is_some_and(|aliases| aliases.contains(&name))
    })
}

fn find_short(command: &Command, short: char) -> Option<&Arg> {
    command
        .get_arguments()
        .find(|arg| arg.get_short() == Some(short))
}

fn find_subcommand<'c>(root: &'c Command, name: &str) -> Option<&'c Command> {
    root.get_subcommands()
        .find(|sub| sub.get_name() == name || sub.get_all_aliases().any(|alias| alias == name))
}

/// A boolean flag that is set by its presence.
fn is_switch(arg: &Arg) -> bool {
    matches!(arg.get_action(), ArgAction::SetTrue)
}

fn takes_value(arg: &Arg) -> bool {
    let none_allowed = matches!(arg.get_num_args(), Some(n) if !n.takes_values());
    arg.get_action().takes_values() && !none_allowed
}

fn value_is_optional(arg: &Arg) -> bool {
    arg.get_num_args().is_some_and(|n| n.min_values() == 0)
}

fn is_possible_value(arg: &Arg, text: &str) -> bool {
    arg.get_possible_values()
        .iter()
        .any(|value| value.matches(text, false))
}

/// Go's `strconv.ParseBool`.
fn parse_go_bool(text: &str) -> Option<bool> {
    match text {
        "1" | "t" | "T" | "true" | "TRUE" | "True" => Some(true),
        "0" | "f" | "F" | "false" | "FALSE" | "False" => Some(false),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(args: &[&str]) -> Normalized {
        normalize(
            &built_command(),
            args.iter().map(|arg| OsString::from(*arg)).collect(),
        )
    }

    fn args(args: &[&str]) -> Vec<String> {
        run(args)
            .args
            .into_iter()
            .map(|arg| arg.into_string().unwrap())
            .collect()
    }

    #[test]
    fn go_style_single_dash_long_flags() {
        assert_eq!(
            args(&["runsc", "-root", "/r", "-log=/l", "-debug", "create", "-bundle", "/b", "id"]),
            ["runsc", "--root", "/r", "--log=/l", "--debug", "create", "--bundle", "/b", "id"]
        );
        assert_eq!(
            args(&["runsc", "run", "-no-subreaper", "-d", "-pid-file=/p", "id"]),
            [
                "runsc",
                "run",
                "--no-subreaper",
                "-d",
                "--pid-file=/p",
                "id"
            ]
        );
    }

    #[test]
    fn short_flags_are_left_alone() {
        assert_eq!(
            args(&["runsc", "exec", "-t", "-d", "-e", "A=1", "-u", "0", "id", "true"]),
            ["runsc", "exec", "-t", "-d", "-e", "A=1", "-u", "0", "id", "--", "true"]
        );
        assert_eq!(
            args(&["runsc", "exec", "-td", "id", "true"]),
            ["runsc", "exec", "-td", "id", "--", "true"]
        );
        // A short flag's value that looks like a long flag is still a value.
        assert_eq!(
            args(&["runsc", "create", "-b", "-bundle", "id"]),
            ["runsc", "create", "-b", "-bundle", "id"]
        );
    }

    #[test]
    fn values_that_look_like_flags_are_kept() {
        assert_eq!(
            args(&["runsc", "--log", "-debug", "list"]),
            ["runsc", "--log", "-debug", "list"]
        );
        assert_eq!(
            args(&["runsc", "checkpoint", "-status-fd", "-1", "id"]),
            ["runsc", "checkpoint", "--status-fd", "-1", "id"]
        );
    }

    #[test]
    fn trailing_commands_are_passed_through() {
        assert_eq!(
            args(&["runsc", "do", "-cwd", "/", "ls", "-la", "-cwd", "--strace"]),
            ["runsc", "do", "--cwd", "/", "ls", "-la", "-cwd", "--strace"]
        );
        assert_eq!(
            args(&["runsc", "exec", "-cwd", "/", "id", "sh", "-c", "-env"]),
            ["runsc", "exec", "--cwd", "/", "id", "--", "sh", "-c", "-env"]
        );
        assert_eq!(
            args(&["runsc", "exec", "id", "--", "ls", "-l"]),
            ["runsc", "exec", "id", "--", "ls", "-l"]
        );
        assert_eq!(
            args(&["runsc", "exec", "-p", "p.json", "id"]),
            ["runsc", "exec", "-p", "p.json", "id"]
        );
        assert_eq!(
            args(&["runsc", "spec", "--", "-rootless"]),
            ["runsc", "spec", "--", "-rootless"]
        );
        assert_eq!(
            args(&["runsc", "ps", "id", "-format", "x"]),
            ["runsc", "ps", "id", "--", "-format", "x"]
        );
    }

    #[test]
    fn go_booleans_with_values() {
        assert_eq!(
            args(&["runsc", "-debug=true", "--systemd-cgroup=false", "list"]),
            ["runsc", "--debug", "list"]
        );
        assert_eq!(
            args(&["runsc", "delete", "-force=1", "id"]),
            ["runsc", "delete", "--force", "id"]
        );
        // Not a boolean: left for clap to refuse.
        assert_eq!(
            args(&["runsc", "--debug=maybe", "list"]),
            ["runsc", "--debug=maybe", "list"]
        );
    }

    #[test]
    fn rootless_with_or_without_a_value() {
        assert_eq!(
            args(&["runsc", "--rootless", "true", "list"]),
            ["runsc", "--rootless=true", "list"]
        );
        assert_eq!(
            args(&["runsc", "--rootless", "list"]),
            ["runsc", "--rootless", "list"]
        );
        assert_eq!(
            args(&["runsc", "-rootless=auto", "list"]),
            ["runsc", "--rootless=auto", "list"]
        );
    }

    #[test]
    fn unknown_global_flags_are_dropped_with_their_values() {
        let out = run(&[
            "runsc",
            "--overlay2",
            "root:memory",
            "-file-access=shared",
            "--alsologtostderr",
            "--ignore-cgroups",
            "list",
        ]);
        assert_eq!(out.args, ["runsc", "list"]);
        assert_eq!(
            out.ignored,
            [
                "--overlay2 root:memory",
                "-file-access=shared",
                "--alsologtostderr",
                "--ignore-cgroups"
            ]
        );
        assert_eq!(out.command_at, Some(1));
    }

    #[test]
    fn unknown_flags_of_a_command_are_left_for_clap() {
        let out = run(&["runsc", "state", "--bogus", "id"]);
        assert_eq!(out.args, ["runsc", "state", "--bogus", "id"]);
        assert!(out.ignored.is_empty());
    }

    #[test]
    fn command_position_is_found() {
        assert_eq!(
            run(&["runsc", "--root", "state", "state", "x"]).command_at,
            Some(3)
        );
        assert_eq!(run(&["runsc", "--version"]).command_at, None);
    }

    #[test]
    fn help_and_version_in_go_style() {
        assert_eq!(args(&["runsc", "-help"]), ["runsc", "--help"]);
        assert_eq!(
            args(&["runsc", "create", "-help"]),
            ["runsc", "create", "--help"]
        );
        assert_eq!(args(&["runsc", "-h"]), ["runsc", "-h"]);
        assert_eq!(args(&["runsc", "-v"]), ["runsc", "-v"]);
    }

    #[test]
    fn arguments_that_are_not_utf8_pass_through() {
        use std::os::unix::ffi::OsStringExt;
        let odd = OsString::from_vec(vec![b'-', b'-', b'l', b'o', b'g', b'=', 0xff]);
        let out = normalize(
            &built_command(),
            vec!["runsc".into(), odd.clone(), "list".into()],
        );
        assert_eq!(out.args, [OsString::from("runsc"), odd, "list".into()]);
    }
}
