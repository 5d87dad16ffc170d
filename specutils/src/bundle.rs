//! An OCI bundle on disk: its `config.json`, parsed and checked for what a
//! sandbox needs before it can start, and its root filesystem located.

use oci_spec::runtime::Spec;
use std::io;
use std::path::{Path, PathBuf};

/// The name of the spec file inside a bundle.
pub const CONFIG_FILE: &str = "config.json";

/// Why a bundle cannot be used. Every message names the file or directory
/// at fault, so that a person can go and fix it.
#[derive(Debug, thiserror::Error)]
pub enum SpecError {
    #[error("bundle directory {} does not exist", bundle.display())]
    BundleNotFound { bundle: PathBuf },

    #[error(
        "bundle {} has no {CONFIG_FILE} (`runsc spec` writes an example one)",
        bundle.display()
    )]
    ConfigNotFound { bundle: PathBuf },

    #[error("cannot read {}", path.display())]
    Read {
        path: PathBuf,
        #[source]
        source: io::Error,
    },

    #[error("{}: malformed JSON at line {line}, column {column}: {reason}", path.display())]
    Syntax {
        path: PathBuf,
        line: usize,
        column: usize,
        reason: String,
    },

    #[error("{}: invalid spec at line {line}, column {column}: {reason}", path.display())]
    Invalid {
        path: PathBuf,
        line: usize,
        column: usize,
        reason: String,
    },

    #[error("{}: the spec has no \"process\": there is nothing to run", path.display())]
    MissingProcess { path: PathBuf },

    #[error("{}: process.args is empty: name the program to run", path.display())]
    EmptyArgs { path: PathBuf },

    #[error("{}: process.cwd {} is not an absolute path", path.display(), cwd.display())]
    RelativeCwd { path: PathBuf, cwd: PathBuf },

    #[error(
        "{}: the spec has no root.path: name the directory that holds the root filesystem",
        path.display()
    )]
    MissingRoot { path: PathBuf },

    #[error(
        "root filesystem {} does not exist (root.path in {})",
        root.display(),
        path.display()
    )]
    RootNotFound { root: PathBuf, path: PathBuf },

    #[error(
        "root filesystem {} is not a directory (root.path in {})",
        root.display(),
        path.display()
    )]
    RootNotDirectory { root: PathBuf, path: PathBuf },

    #[error("cannot find the current directory to resolve bundle {}", bundle.display())]
    CurrentDir {
        bundle: PathBuf,
        #[source]
        source: io::Error,
    },
}

/// A loaded and checked bundle.
#[derive(Clone, Debug)]
pub struct Bundle {
    /// The bundle directory, absolute.
    pub dir: PathBuf,
    /// The parsed `config.json`.
    pub spec: Spec,
    /// The root filesystem: `root.path` made absolute against the bundle.
    pub root: PathBuf,
}

impl Bundle {
    /// Loads `<dir>/config.json` and checks that it describes something a
    /// sandbox can run: a process with arguments and an absolute working
    /// directory, and a root filesystem directory that exists.
    pub fn load(dir: &Path) -> Result<Bundle, SpecError> {
        let dir = std::path::absolute(dir).map_err(|source| SpecError::CurrentDir {
            bundle: dir.to_path_buf(),
            source,
        })?;
        let path = dir.join(CONFIG_FILE);
        let text = match std::fs::read_to_string(&path) {
            Ok(text) => text,
            Err(err) if err.kind() == io::ErrorKind::NotFound => {
                return Err(if dir.is_dir() {
                    SpecError::ConfigNotFound { bundle: dir }
                } else {
                    SpecError::BundleNotFound { bundle: dir }
                });
            }
            Err(source) => return Err(SpecError::Read { path, source }),
        };
        let spec = parse_spec(&text, &path)?;
        check_process(&spec, &path)?;
        let root = root_path(&spec, &dir, &path)?;
        Ok(Bundle { dir, spec, root })
    }

    /// Where the spec was read from.
    pub fn config_path(&self) -> PathBuf {
        self.dir.join(CONFIG_FILE)
    }
}

/// Parses the text of a `config.json`; `path` is only used in errors.
pub fn parse_spec(text: &str, path: &Path) -> Result<Spec, SpecError> {
    serde_json::from_str(text).map_err(|err| {
        let (line, column) = (err.line(), err.column());
        let reason = reason_without_position(&err);
        match err.classify() {
            serde_json::error::Category::Data => SpecError::Invalid {
                path: path.to_path_buf(),
                line,
                column,
                reason,
            },
            _ => SpecError::Syntax {
                path: path.to_path_buf(),
                line,
                column,
                reason,
            },
        }
    })
}

/// serde_json ends its messages with " at line L column C"; the position is
/// reported on its own, so it is cut from the reason.
fn reason_without_position(err: &serde_json::Error) -> String {
    let text = err.to_string();
    let suffix = format!(" at line {} column {}", err.line(), err.column());
    match text.strip_suffix(&suffix) {
        Some(reason) => reason.to_string(),
        None => text,
    }
}

fn check_process(spec: &Spec, path: &Path) -> Result<(), SpecError> {
    let process = spec
        .process()
        .as_ref()
        .ok_or_else(|| SpecError::MissingProcess {
            path: path.to_path_buf(),
        })?;
    let has_args = process.args().as_ref().is_some_and(|args| !args.is_empty());
    if !has_args {
        return Err(SpecError::EmptyArgs {
            path: path.to_path_buf(),
        });
    }
    if !process.cwd().is_absolute() {
        return Err(SpecError::RelativeCwd {
            path: path.to_path_buf(),
            cwd: process.cwd().clone(),
        });
    }
    Ok(())
}

fn root_path(spec: &Spec, dir: &Path, path: &Path) -> Result<PathBuf, SpecError> {
    let configured = spec
        .root()
        .as_ref()
        .map(|root| root.path())
        .filter(|root| !root.as_os_str().is_empty())
        .ok_or_else(|| SpecError::MissingRoot {
            path: path.to_path_buf(),
        })?;
    let root = dir.join(configured);
    match std::fs::metadata(&root) {
        Ok(meta) if meta.is_dir() => Ok(root),
        Ok(_) => Err(SpecError::RootNotDirectory {
            root,
            path: path.to_path_buf(),
        }),
        Err(err) if err.kind() == io::ErrorKind::NotFound => Err(SpecError::RootNotFound {
            root,
            path: path.to_path_buf(),
        }),
        Err(source) => Err(SpecError::Read { path: root, source }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testutil::TempDir;

    const GOOD: &str = r#"{
        "ociVersion": "1.1.0",
        "process": { "args": ["sh"], "cwd": "/", "user": { "uid": 0, "gid": 0 } },
        "root": { "path": "rootfs" }
    }"#;

    fn bundle_with(config: &str) -> TempDir {
        let dir = TempDir::new();
        std::fs::create_dir(dir.path().join("rootfs")).unwrap();
        std::fs::write(dir.path().join(CONFIG_FILE), config).unwrap();
        dir
    }

    fn load_err(config: &str) -> (TempDir, String) {
        let dir = bundle_with(config);
        let err = Bundle::load(dir.path()).expect_err("the bundle must be refused");
        let text = err.to_string();
        (dir, text)
    }

    #[test]
    fn loads_a_good_bundle_and_resolves_root_against_it() {
        let dir = bundle_with(GOOD);
        let bundle = Bundle::load(dir.path()).unwrap();
        assert_eq!(bundle.root, dir.path().join("rootfs"));
        assert_eq!(bundle.config_path(), dir.path().join(CONFIG_FILE));
        assert!(bundle.dir.is_absolute());
    }

    #[test]
    fn absolute_root_path_is_kept() {
        let other = TempDir::new();
        let config = GOOD.replace("\"rootfs\"", &format!("{:?}", other.path()));
        let dir = bundle_with(&config);
        assert_eq!(Bundle::load(dir.path()).unwrap().root, other.path());
    }

    #[test]
    fn bad_json_names_the_file_line_and_column() {
        let (dir, text) = load_err("{\n  \"ociVersion\": \"1.1.0\",\n  \"process\": {,\n}");
        let path = dir.path().join(CONFIG_FILE);
        assert!(
            text.starts_with(&format!("{}: malformed JSON", path.display())),
            "{text}"
        );
        assert!(text.contains("line 3, column 15"), "{text}");
        assert!(!text.ends_with("column 15"), "position repeated: {text}");
    }

    #[test]
    fn truncated_json_is_malformed() {
        let (_dir, text) = load_err("{\"process\": {\"args\": [\"sh\"");
        assert!(text.contains("malformed JSON"), "{text}");
        assert!(text.contains("EOF"), "{text}");
    }

    #[test]
    fn wrong_type_is_an_invalid_spec() {
        let (_dir, text) =
            load_err(r#"{"process": {"args": "sh", "cwd": "/", "user": {"uid": 0, "gid": 0}}}"#);
        assert!(text.contains("invalid spec at line 1"), "{text}");
        assert!(text.contains("expected a sequence"), "{text}");
    }

    #[test]
    fn missing_required_field_is_named() {
        let (_dir, text) = load_err(r#"{"process": {"args": ["sh"], "cwd": "/"}}"#);
        assert!(text.contains("invalid spec at line 1"), "{text}");
        assert!(text.ends_with("missing field `user`"), "{text}");
    }

    #[test]
    fn missing_process() {
        let (_dir, text) = load_err(r#"{"ociVersion": "1.1.0", "root": {"path": "rootfs"}}"#);
        assert!(text.ends_with("the spec has no \"process\": there is nothing to run"));
    }

    #[test]
    fn empty_args() {
        let (_dir, text) =
            load_err(r#"{"process": {"args": [], "cwd": "/", "user": {"uid": 0, "gid": 0}}}"#);
        assert!(text.ends_with("process.args is empty: name the program to run"));
        let (_dir, text) = load_err(r#"{"process": {"cwd": "/", "user": {"uid": 0, "gid": 0}}}"#);
        assert!(text.ends_with("process.args is empty: name the program to run"));
    }

    #[test]
    fn relative_cwd() {
        let (_dir, text) = load_err(
            r#"{"process": {"args": ["sh"], "cwd": "tmp", "user": {"uid": 0, "gid": 0}}}"#,
        );
        assert!(
            text.ends_with("process.cwd tmp is not an absolute path"),
            "{text}"
        );
    }

    #[test]
    fn missing_root() {
        let (_dir, text) =
            load_err(r#"{"process": {"args": ["sh"], "cwd": "/", "user": {"uid": 0, "gid": 0}}}"#);
        assert!(text.contains("the spec has no root.path"), "{text}");
    }

    #[test]
    fn root_that_does_not_exist_is_named() {
        let (dir, text) = load_err(&GOOD.replace("\"rootfs\"", "\"nowhere\""));
        let root = dir.path().join("nowhere");
        assert!(
            text.starts_with(&format!(
                "root filesystem {} does not exist",
                root.display()
            )),
            "{text}"
        );
    }

    #[test]
    fn root_that_is_a_file() {
        let dir = bundle_with(&GOOD.replace("\"rootfs\"", "\"config.json\""));
        let text = Bundle::load(dir.path()).unwrap_err().to_string();
        assert!(text.contains("is not a directory"), "{text}");
    }

    #[test]
    fn missing_config_and_missing_bundle() {
        let dir = TempDir::new();
        let err = Bundle::load(dir.path()).unwrap_err();
        assert!(matches!(err, SpecError::ConfigNotFound { .. }));
        assert!(err.to_string().contains(&dir.path().display().to_string()));

        let gone = dir.path().join("gone");
        let err = Bundle::load(&gone).unwrap_err();
        assert_eq!(
            err.to_string(),
            format!("bundle directory {} does not exist", gone.display())
        );
    }
}
