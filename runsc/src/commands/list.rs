//! `list`: the containers under --root, as a table (like runc's) or JSON.

use super::{print, state_dir};
use crate::cli::list::{List, ListFormat};
use crate::cli::GlobalOpts;
use crate::container::{State, StateError};
use std::io::ErrorKind;

pub fn list(global: &GlobalOpts, args: List) -> anyhow::Result<()> {
    let dir = state_dir(global);
    let loaded = match dir.list() {
        Ok(loaded) => loaded,
        // No default root yet means no containers yet; a --root that does
        // not exist is an error (as in runc).
        Err(StateError::Read { source, .. }) if source.kind() == ErrorKind::NotFound => {
            if global.root.is_some() {
                anyhow::bail!("state directory {} does not exist", dir.root().display());
            }
            Vec::new()
        }
        Err(err) => return Err(err.into()),
    };
    let mut states = Vec::new();
    for result in loaded {
        match result {
            Ok(state) => states.push(state),
            Err(err) => tracing::warn!("{:#}", anyhow::Error::new(err)),
        }
    }

    let text = if args.quiet {
        states
            .iter()
            .map(|state| format!("{}\n", state.id))
            .collect()
    } else {
        match args.format {
            ListFormat::Table => table(&states),
            ListFormat::Json => {
                let oci: Vec<_> = states.iter().map(State::oci_state).collect();
                format!("{}\n", serde_json::to_string(&oci)?)
            }
        }
    };
    print(&text)
}

const HEADER: [&str; 6] = ["ID", "PID", "STATUS", "BUNDLE", "CREATED", "OWNER"];

/// runc's table: every column but the last as wide as its widest cell plus
/// three spaces, and at least twelve.
fn table(states: &[State]) -> String {
    let mut rows = vec![HEADER.map(String::from)];
    for state in states {
        let oci = state.oci_state();
        rows.push([
            oci.id.to_string(),
            oci.pid.to_string(),
            oci.status.to_string(),
            oci.bundle.display().to_string(),
            oci.created.to_string(),
            oci.owner.to_string(),
        ]);
    }
    let mut widths = [0usize; 5];
    for row in &rows {
        for (width, cell) in widths.iter_mut().zip(row) {
            *width = (*width).max(cell.chars().count() + 3).max(12);
        }
    }
    let mut out = String::new();
    for row in &rows {
        for (cell, width) in row.iter().zip(widths) {
            out.push_str(&format!("{cell:<width$}"));
        }
        out.push_str(&row[5]);
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::container::ContainerStatus;

    #[test]
    fn table_columns() {
        let state = State {
            oci_version: "1.1.0".into(),
            id: "a-rather-long-container-id".into(),
            status: ContainerStatus::Stopped,
            pid: Some(7),
            bundle: "/b".into(),
            rootfs: None,
            created: "2024-05-01T12:00:00.000000000Z".into(),
            annotations: Default::default(),
            owner: "root".into(),
            control_socket: None,
            ..Default::default()
        };
        let text = table(&[state]);
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(
            lines[0],
            "ID                           PID         STATUS      BUNDLE      CREATED                          OWNER"
        );
        assert_eq!(
            lines[1],
            "a-rather-long-container-id   0           stopped     /b          2024-05-01T12:00:00.000000000Z   root"
        );
        assert_eq!(
            table(&[]),
            "ID          PID         STATUS      BUNDLE      CREATED     OWNER\n"
        );
    }
}
