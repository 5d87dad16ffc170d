//! Log messages written as runc writes them, because engines read them:
//! podman and containerd take the `msg` of the last error in the `--log`
//! file to say why a call failed.
//!
//! Text: `time="2024-05-01T12:00:00.000000000Z" level=error msg="…"`.
//! JSON: one object per line, `{"level":"error","msg":"…","time":"…"}`,
//! with any other fields of the event beside them.

use crate::cli::global::LogFormat;
use crate::timefmt;
use std::fmt;
use std::fs::{self, File, OpenOptions};
use std::io;
use std::os::fd::RawFd;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::SystemTime;
use tracing::field::{Field, Visit};
use tracing::{Event, Level, Subscriber};
use tracing_subscriber::filter::LevelFilter;
use tracing_subscriber::fmt::format::Writer;
use tracing_subscriber::fmt::writer::BoxMakeWriter;
use tracing_subscriber::fmt::{FmtContext, FormatEvent, FormatFields};
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::registry::LookupSpan;
use tracing_subscriber::Layer;

/// Where and how to log, from the global flags.
pub struct LogOptions<'a> {
    /// `--log`; standard error when absent.
    pub file: Option<&'a Path>,
    pub format: LogFormat,
    /// `--debug`: debug messages are written too.
    pub debug: bool,
    /// `--debug-log`: a second destination that always gets debug messages.
    pub debug_log: Option<&'a Path>,
    pub debug_log_format: LogFormat,
    /// The command being run, for `%COMMAND%` in the debug log's name.
    pub command: &'a str,
    /// An open log to use instead of `file` (the sandbox's, from create).
    pub file_fd: Option<RawFd>,
    /// An open debug log to use instead of `debug_log`.
    pub debug_fd: Option<RawFd>,
}

/// What `init` set up.
pub struct Logging {
    /// Messages go to standard error, so an error need not be printed
    /// there a second time.
    pub to_stderr: bool,
}

#[derive(Debug, thiserror::Error)]
pub enum LogError {
    #[error("cannot open log file {}", path.display())]
    Open {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("a logger is already installed")]
    AlreadyInstalled(#[source] tracing::subscriber::SetGlobalDefaultError),
}

/// Installs the process-wide logger.
pub fn init(options: &LogOptions<'_>) -> Result<Logging, LogError> {
    let main = match (options.file_fd, options.file) {
        (Some(fd), _) => BoxMakeWriter::new(Mutex::new(adopt(fd))),
        (None, Some(path)) => BoxMakeWriter::new(Mutex::new(open_log(path)?)),
        (None, None) => BoxMakeWriter::new(io::stderr),
    };
    let level = if options.debug {
        LevelFilter::DEBUG
    } else {
        LevelFilter::INFO
    };
    let debug = match (options.debug_fd, options.debug_log) {
        (Some(fd), _) => Some((
            BoxMakeWriter::new(Mutex::new(adopt(fd))),
            options.debug_log_format,
        )),
        (None, Some(path)) => Some((
            BoxMakeWriter::new(Mutex::new(open_debug_log(path, options.command)?)),
            options.debug_log_format,
        )),
        (None, None) => None,
    };
    let subscriber = subscriber(main, options.format, level, debug);
    tracing::subscriber::set_global_default(subscriber).map_err(LogError::AlreadyInstalled)?;
    Ok(Logging {
        to_stderr: options.file.is_none() && options.file_fd.is_none(),
    })
}

/// Opens the debug log for `--debug-log PATH` and `command`.
pub fn open_debug_log(path: &Path, command: &str) -> Result<File, LogError> {
    open_log(&debug_log_path(path, command, SystemTime::now()))
}

/// Opens a log for appending (as `--log` does).
pub fn open_log_file(path: &Path) -> Result<File, LogError> {
    open_log(path)
}

/// A log descriptor handed over by the parent process.
fn adopt(fd: RawFd) -> File {
    // SAFETY: the descriptor was passed to this process to log to; nothing
    // else in it owns it.
    unsafe { <File as std::os::fd::FromRawFd>::from_raw_fd(fd) }
}

/// A subscriber writing to `main` at `level`, and to `debug` (if any) at
/// debug level.
fn subscriber(
    main: BoxMakeWriter,
    format: LogFormat,
    level: LevelFilter,
    debug: Option<(BoxMakeWriter, LogFormat)>,
) -> impl Subscriber + Send + Sync {
    let main_layer = tracing_subscriber::fmt::layer()
        .event_format(RuncFormat::new(format))
        .with_writer(main)
        .with_filter(level);
    let debug_layer = debug.map(|(writer, format)| {
        tracing_subscriber::fmt::layer()
            .event_format(RuncFormat::new(format))
            .with_writer(writer)
            .with_filter(LevelFilter::DEBUG)
    });
    tracing_subscriber::registry()
        .with(main_layer)
        .with(debug_layer)
}

/// Opens a log for appending, creating it if needed (as runc does).
fn open_log(path: &Path) -> Result<File, LogError> {
    OpenOptions::new()
        .create(true)
        .append(true)
        .mode(0o644)
        .open(path)
        .map_err(|source| LogError::Open {
            path: path.to_path_buf(),
            source,
        })
}

/// The debug log file for `--debug-log PATH`: `%TIMESTAMP%` and `%COMMAND%`
/// are replaced, and a path ending in `/` is a directory in which a file
/// named after both is made.
fn debug_log_path(path: &Path, command: &str, now: SystemTime) -> PathBuf {
    let text = path.to_string_lossy();
    let text = if text.ends_with('/') {
        // The directory is made here; if that fails, opening the file will
        // report it.
        let _ = fs::create_dir_all(path);
        format!("{text}runsc.log.%TIMESTAMP%.%COMMAND%.txt")
    } else {
        text.into_owned()
    };
    PathBuf::from(
        text.replace("%TIMESTAMP%", &timefmt::compact(now))
            .replace("%COMMAND%", command),
    )
}

/// The event format of runc's logger (logrus).
struct RuncFormat {
    json: bool,
}

impl RuncFormat {
    fn new(format: LogFormat) -> RuncFormat {
        RuncFormat {
            json: format.is_json(),
        }
    }
}

impl<S, N> FormatEvent<S, N> for RuncFormat
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    N: for<'a> FormatFields<'a> + 'static,
{
    fn format_event(
        &self,
        _ctx: &FmtContext<'_, S, N>,
        mut writer: Writer<'_>,
        event: &Event<'_>,
    ) -> fmt::Result {
        let mut fields = Fields::default();
        event.record(&mut fields);
        let level = level_name(*event.metadata().level());
        let time = timefmt::rfc3339(SystemTime::now());
        if self.json {
            let mut object = serde_json::Map::new();
            for (key, value) in fields.others {
                // As logrus does, event fields never hide the three it writes.
                let key = match key {
                    "level" | "msg" | "time" => format!("fields.{key}"),
                    _ => key.to_string(),
                };
                object.insert(key, value);
            }
            object.insert("level".into(), level.into());
            object.insert("msg".into(), fields.message.into());
            object.insert("time".into(), time.into());
            writeln!(writer, "{}", serde_json::Value::Object(object))
        } else {
            write!(
                writer,
                "time=\"{time}\" level={level} msg={}",
                quoted(&fields.message)
            )?;
            for (key, value) in &fields.others {
                let value = match value {
                    serde_json::Value::String(text) => quoted(text),
                    other => other.to_string(),
                };
                write!(writer, " {key}={value}")?;
            }
            writeln!(writer)
        }
    }
}

/// logrus's level names.
fn level_name(level: Level) -> &'static str {
    match level {
        Level::ERROR => "error",
        Level::WARN => "warning",
        Level::INFO => "info",
        Level::DEBUG => "debug",
        Level::TRACE => "trace",
    }
}

/// A text value, quoted unless it is a plain word (logrus's rule).
fn quoted(text: &str) -> String {
    let plain = !text.is_empty()
        && text
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-._/@^+".contains(c));
    if plain {
        text.to_string()
    } else {
        format!("{text:?}")
    }
}

/// The message and the other fields of an event.
#[derive(Default)]
struct Fields {
    message: String,
    others: Vec<(&'static str, serde_json::Value)>,
}

impl Fields {
    fn put(&mut self, field: &Field, value: serde_json::Value) {
        if field.name() == "message" {
            self.message = match value {
                serde_json::Value::String(text) => text,
                other => other.to_string(),
            };
        } else {
            self.others.push((field.name(), value));
        }
    }
}

impl Visit for Fields {
    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        self.put(field, format!("{value:?}").into());
    }

    fn record_str(&mut self, field: &Field, value: &str) {
        self.put(field, value.into());
    }

    fn record_i64(&mut self, field: &Field, value: i64) {
        self.put(field, value.into());
    }

    fn record_u64(&mut self, field: &Field, value: u64) {
        self.put(field, value.into());
    }

    fn record_bool(&mut self, field: &Field, value: bool) {
        self.put(field, value.into());
    }

    fn record_error(&mut self, field: &Field, value: &(dyn std::error::Error + 'static)) {
        let mut text = value.to_string();
        let mut source = value.source();
        while let Some(cause) = source {
            text.push_str(": ");
            text.push_str(&cause.to_string());
            source = cause.source();
        }
        self.put(field, text.into());
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    /// A writer that keeps what is written, for reading back.
    #[derive(Clone, Default)]
    struct Captured(Arc<Mutex<Vec<u8>>>);

    impl io::Write for Captured {
        fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(buf);
            Ok(buf.len())
        }

        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    impl Captured {
        fn text(&self) -> String {
            String::from_utf8(self.0.lock().unwrap().clone()).unwrap()
        }
    }

    fn capture(format: LogFormat, level: LevelFilter, log: impl FnOnce()) -> String {
        let captured = Captured::default();
        let writer = captured.clone();
        let subscriber = subscriber(
            BoxMakeWriter::new(move || writer.clone()),
            format,
            level,
            None,
        );
        tracing::subscriber::with_default(subscriber, log);
        captured.text()
    }

    #[test]
    fn json_lines_have_level_msg_and_time() {
        let text = capture(LogFormat::Json, LevelFilter::INFO, || {
            tracing::error!("container \"x\" does not exist");
            tracing::warn!(flag = "--bogus", "ignoring a flag");
            tracing::debug!("not shown");
        });
        let lines: Vec<serde_json::Value> = text
            .lines()
            .map(|line| serde_json::from_str(line).unwrap())
            .collect();
        assert_eq!(lines.len(), 2);
        assert_eq!(lines[0]["level"], "error");
        assert_eq!(lines[0]["msg"], "container \"x\" does not exist");
        assert!(lines[0]["time"].as_str().unwrap().ends_with('Z'));
        assert_eq!(lines[1]["level"], "warning");
        assert_eq!(lines[1]["flag"], "--bogus");
    }

    #[test]
    fn json_fields_do_not_hide_the_message() {
        let text = capture(LogFormat::Json, LevelFilter::INFO, || {
            tracing::info!(msg = "field", level = 3, "the message");
        });
        let line: serde_json::Value = serde_json::from_str(text.trim()).unwrap();
        assert_eq!(line["msg"], "the message");
        assert_eq!(line["level"], "info");
        assert_eq!(line["fields.msg"], "field");
        assert_eq!(line["fields.level"], 3);
    }

    #[test]
    fn text_lines_look_like_logrus() {
        let text = capture(LogFormat::Text, LevelFilter::DEBUG, || {
            tracing::debug!(pid = 42, path = "/run/x", "starting sandbox");
        });
        assert!(text.starts_with("time=\""), "{text}");
        assert!(
            text.ends_with(" level=debug msg=\"starting sandbox\" pid=42 path=/run/x\n"),
            "{text}"
        );
    }

    #[test]
    fn quoting() {
        assert_eq!(quoted("plain-word_1.0"), "plain-word_1.0");
        assert_eq!(quoted("two words"), "\"two words\"");
        assert_eq!(quoted(""), "\"\"");
        assert_eq!(quoted("say \"hi\""), "\"say \\\"hi\\\"\"");
    }

    #[test]
    fn debug_log_names() {
        let now = std::time::UNIX_EPOCH + std::time::Duration::from_secs(1_714_564_800);
        assert_eq!(
            debug_log_path(Path::new("/tmp/x-%COMMAND%.log"), "create", now),
            Path::new("/tmp/x-create.log")
        );
        let dir = crate::testutil::TempDir::new();
        let logs = format!("{}/logs/", dir.path().display());
        let path = debug_log_path(Path::new(&logs), "start", now);
        assert_eq!(
            path,
            dir.path()
                .join("logs/runsc.log.20240501-120000.000000.start.txt")
        );
        assert!(dir.path().join("logs").is_dir());
    }

    #[test]
    fn a_log_file_that_cannot_be_opened_is_named() {
        let err = open_log(Path::new("/nonexistent-dir/x.log")).unwrap_err();
        assert_eq!(
            err.to_string(),
            "cannot open log file /nonexistent-dir/x.log"
        );
    }
}
