//! `spec`: write an example config.json, as `runc spec` does.

use crate::cli::spec::Spec;
use anyhow::Context;
use serde::Serialize;
use specutils::CONFIG_FILE;
use std::fs::OpenOptions;
use std::io::{ErrorKind, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

pub fn spec(args: Spec) -> anyhow::Result<()> {
    let dir = args.bundle.unwrap_or_else(|| PathBuf::from("."));
    if !dir.is_dir() {
        anyhow::bail!("bundle directory {} does not exist", dir.display());
    }
    let mut spec = if args.rootless {
        let uid = nix::unistd::geteuid().as_raw();
        let gid = nix::unistd::getegid().as_raw();
        specutils::rootless_spec(uid, gid)
    } else {
        specutils::example_spec()
    };
    if let Some(process) = spec.process_mut() {
        if !args.command.is_empty() {
            process.set_args(Some(args.command));
        }
        if let Some(cwd) = args.cwd {
            if !Path::new(&cwd).is_absolute() {
                anyhow::bail!("--cwd {cwd:?} must be an absolute path");
            }
            process.set_cwd(cwd.into());
        }
    }
    write_new(&dir.join(CONFIG_FILE), &to_json(&spec)?)
}

/// JSON indented with tabs, as runc writes its spec.
fn to_json(value: &impl Serialize) -> anyhow::Result<Vec<u8>> {
    let mut out = Vec::new();
    let formatter = serde_json::ser::PrettyFormatter::with_indent(b"\t");
    let mut serializer = serde_json::Serializer::with_formatter(&mut out, formatter);
    value.serialize(&mut serializer)?;
    out.push(b'\n');
    Ok(out)
}

/// Writes a file that must not exist yet.
fn write_new(path: &Path, contents: &[u8]) -> anyhow::Result<()> {
    let mut file = match OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o666)
        .open(path)
    {
        Ok(file) => file,
        Err(err) if err.kind() == ErrorKind::AlreadyExists => anyhow::bail!(
            "{} already exists: remove it first, or write the spec elsewhere with --bundle",
            path.display()
        ),
        Err(err) => return Err(err).with_context(|| format!("cannot create {}", path.display())),
    };
    file.write_all(contents)
        .with_context(|| format!("cannot write {}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testutil::TempDir;

    fn spec_in(dir: &Path, extra: impl FnOnce(&mut Spec)) -> anyhow::Result<()> {
        let mut args = Spec {
            bundle: Some(dir.to_path_buf()),
            rootless: false,
            cwd: None,
            command: Vec::new(),
        };
        extra(&mut args);
        spec(args)
    }

    #[test]
    fn writes_a_loadable_spec_once() {
        let tmp = TempDir::new();
        spec_in(tmp.path(), |_| {}).unwrap();
        let text = std::fs::read_to_string(tmp.path().join(CONFIG_FILE)).unwrap();
        assert!(text.starts_with("{\n\t\"ociVersion\": \"1.1.0\""), "{text}");

        std::fs::create_dir(tmp.path().join("rootfs")).unwrap();
        let bundle = specutils::Bundle::load(tmp.path()).unwrap();
        assert_eq!(bundle.root, tmp.path().join("rootfs"));

        let err = spec_in(tmp.path(), |_| {}).unwrap_err().to_string();
        assert_eq!(
            err,
            format!(
                "{}/config.json already exists: remove it first, or write the spec elsewhere with --bundle",
                tmp.path().display()
            )
        );
    }

    #[test]
    fn command_and_cwd() {
        let tmp = TempDir::new();
        spec_in(tmp.path(), |args| {
            args.command = vec!["sleep".into(), "10".into()];
            args.cwd = Some("/tmp".into());
        })
        .unwrap();
        let text = std::fs::read_to_string(tmp.path().join(CONFIG_FILE)).unwrap();
        let value: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert_eq!(value["process"]["args"], serde_json::json!(["sleep", "10"]));
        assert_eq!(value["process"]["cwd"], "/tmp");

        let err = spec_in(tmp.path(), |args| args.cwd = Some("tmp".into()));
        assert!(err
            .unwrap_err()
            .to_string()
            .contains("must be an absolute path"));
    }

    #[test]
    fn missing_bundle_directory() {
        let tmp = TempDir::new();
        let gone = tmp.path().join("gone");
        let err = spec_in(&gone, |_| {}).unwrap_err().to_string();
        assert_eq!(
            err,
            format!("bundle directory {} does not exist", gone.display())
        );
    }
}
