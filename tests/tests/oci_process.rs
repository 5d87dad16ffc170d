//! What the spec's `process` gives the container beyond its arguments:
//! capabilities as the application sees and meets them, and `kill` from
//! the runtime reaching an init that has no handler.

mod common;

use common::{can_run, Bundle};
use serde_json::json;

#[test]
fn process_capabilities_are_reported_and_enforced() {
    if !can_run("process_capabilities_are_reported_and_enforced") {
        return;
    }
    let mut b = Bundle::new(
        "caps",
        &[
            "sh",
            "-c",
            "grep -E '^Cap(Prm|Eff|Bnd)' /proc/self/status; \
             hostname changed 2>/dev/null || echo sethostname refused; \
             echo x > /tmp/f && chmod 000 /tmp/f && cat /tmp/f 2>/dev/null \
             || echo no dac override",
        ],
    );
    let caps = json!(["CAP_CHOWN", "CAP_KILL", "CAP_SETUID"]);
    b.spec["process"]["capabilities"] = json!({
        "bounding": caps, "effective": caps, "permitted": caps,
    });
    b.save();
    let r = b.runsc(&["run", "--bundle", b.dir().to_str().unwrap(), "caps"]);
    assert_eq!(r.code(), 0, "{}", r.stderr);
    assert_eq!(
        r.stdout,
        "CapPrm:\t00000000000000a1\nCapEff:\t00000000000000a1\nCapBnd:\t00000000000000a1\n\
         sethostname refused\nno dac override\n",
        "{}",
        r.stderr
    );
}

#[test]
fn kill_term_from_the_runtime_ends_an_init_without_a_handler() {
    if !can_run("kill_term_from_the_runtime_ends_an_init_without_a_handler") {
        return;
    }
    let b = Bundle::new("term", &["sleep", "100"]);
    b.create("term", &[]).ok();
    b.runsc(&["start", "term"]).ok();
    assert_eq!(b.status("term"), "running");
    b.runsc(&["kill", "term", "TERM"]).ok();
    b.wait_status("term", "stopped");
    b.runsc(&["delete", "term"]).ok();
}
