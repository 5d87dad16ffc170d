//! `syscalls`: how completely each x86-64 system call is implemented.

use crate::cli::syscalls::Syscalls;
use anyhow::bail;
use sentry::syscalls::{table, Support};
use std::fmt::Write;

pub fn syscalls(args: Syscalls) -> anyhow::Result<()> {
    let rows: Vec<(usize, &str, &str, &str)> = table()
        .listing()
        .into_iter()
        .map(|(nr, name, s)| match s {
            Some(Support::Full) => (nr, name, "supported", ""),
            Some(Support::Partial(note)) => (nr, name, "partial", note),
            None => (nr, name, "missing", ""),
        })
        .filter(|r| args.only.as_deref().is_none_or(|o| o == r.2))
        .collect();
    if let Some(o) = args.only.as_deref() {
        if !["supported", "partial", "missing"].contains(&o) {
            bail!("--only {o}: expected supported, partial or missing");
        }
    }
    let mut out = String::new();
    match args.format.as_str() {
        "table" => {
            writeln!(out, "{:>4}  {:<24} {:<10} NOTE", "NR", "NAME", "STATUS")?;
            for (nr, name, status, note) in &rows {
                writeln!(out, "{nr:>4}  {name:<24} {status:<10} {note}")?;
            }
            let count = |s| rows.iter().filter(|r| r.2 == s).count();
            writeln!(
                out,
                "\n{} supported, {} partial, {} missing (missing calls return ENOSYS)",
                count("supported"),
                count("partial"),
                count("missing")
            )?;
        }
        "json" => {
            let v: Vec<serde_json::Value> = rows
                .iter()
                .map(|(nr, name, status, note)| {
                    serde_json::json!({"nr": nr, "name": name, "status": status, "note": note})
                })
                .collect();
            writeln!(out, "{}", serde_json::to_string_pretty(&v)?)?;
        }
        f => bail!("--format {f}: expected table or json"),
    }
    super::print(&out)
}
