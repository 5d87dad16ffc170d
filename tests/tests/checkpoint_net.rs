//! A server checkpointed and restored keeps listening: a container runs
//! busybox `httpd` on the sandbox's loopback and a client loop fetching a
//! page from it; after `runsc checkpoint` and `runsc restore` the same
//! server (its listening socket restored, not started again) answers the
//! client's next requests. A netlink socket's unread replies are still
//! queued after a restore.

mod common;

use common::{can_run, Bundle};
use std::process::Command;
use std::time::{Duration, Instant};

/// The numbers of the client's requests that got the page, and the last
/// request it made, from output `tag`.
fn served(b: &Bundle, tag: &str) -> (Vec<u64>, u64) {
    let text = std::fs::read_to_string(b.file(&format!("{tag}.out"))).unwrap_or_default();
    let mut ok = Vec::new();
    let mut last = 0;
    for line in text.lines() {
        let Some(rest) = line.strip_prefix("req=") else {
            continue;
        };
        let Some((n, body)) = rest.split_once(' ') else {
            continue;
        };
        let Ok(n) = n.parse::<u64>() else { continue };
        last = last.max(n);
        if body == "page from the sandbox" {
            ok.push(n);
        }
    }
    (ok, last)
}

/// Waits until three requests made after request `after` were served.
fn wait_served(b: &Bundle, tag: &str, after: u64) -> Vec<u64> {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let (ok, last) = served(b, tag);
        if ok.iter().filter(|&&n| n > after).count() >= 3 {
            return ok;
        }
        assert!(
            Instant::now() < deadline,
            "{tag}: not three requests after {after} were served (last request {last}); output:\n{}",
            std::fs::read_to_string(b.file(&format!("{tag}.out"))).unwrap_or_default()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn a_listening_server_serves_after_restore() {
    if !can_run("a_listening_server_serves_after_restore") {
        return;
    }
    common::become_subreaper();
    let script = r#"
httpd -f -p 127.0.0.1:8080 -h /www &
i=0
while true; do
    i=$((i+1))
    # (No -T: this busybox's wget crashes with it, natively too.)
    body=$(wget -q -O - http://127.0.0.1:8080/page.txt 2>&1)
    echo "req=$i $body"
    sleep 0.1
done
"#;
    let mut b = Bundle::new("ckpt-net", &["/bin/sh", "-c", script]);
    let root = b.dir().join("rootfs");
    for applet in ["httpd", "wget"] {
        std::os::unix::fs::symlink("busybox", root.join("bin").join(applet)).unwrap();
    }
    std::fs::create_dir_all(root.join("www")).unwrap();
    std::fs::write(root.join("www/page.txt"), "page from the sandbox\n").unwrap();
    std::fs::create_dir_all(root.join("tmp")).unwrap();
    // The loopback of the sandbox's own stack, in a network namespace.
    b.spec["linux"]["namespaces"]
        .as_array_mut()
        .unwrap()
        .push(serde_json::json!({ "type": "network" }));
    b.save();

    b.create("web", &[]).ok();
    b.runsc(&["start", "web"]).ok();
    let before = wait_served(&b, "web", 5);
    eprintln!("before checkpoint: {} requests served", before.len());

    let image = b.file("image");
    b.runsc(&["checkpoint", "--image-path", image.to_str().unwrap(), "web"])
        .ok();
    assert_eq!(b.status("web"), "stopped");
    let (_, last_before) = served(&b, "web");
    b.runsc(&["delete", "web"]).ok();

    let r = b.restore_detached("web", &image, "web-restored");
    assert_eq!(r.code(), 0, "{r:#?}");
    // The client goes on counting where it was, and the server it
    // started before the checkpoint answers.
    let after = wait_served(&b, "web-restored", last_before);
    let (_, last_after) = served(&b, "web-restored");
    assert!(
        after.iter().all(|&n| n > last_before),
        "the client restarted its count: {after:?} after {last_before}"
    );
    eprintln!(
        "after restore: requests {}..={} made, {} served",
        last_before + 1,
        last_after,
        after.len()
    );
    b.clean(&["web"]);
}

/// Waits until the output `tag` holds `want`; returns it.
fn wait_for(b: &Bundle, tag: &str, want: &str) -> String {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let out = b.output_of(tag);
        if out.contains(want) {
            return out;
        }
        assert!(
            Instant::now() < deadline,
            "{tag}: no {want:?} in:\n{out}\n{}",
            std::fs::read_to_string(b.file(&format!("{tag}.err"))).unwrap_or_default()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn netlink_replies_queued_before_a_checkpoint_are_read_after_restore() {
    let test = "netlink_replies_queued_before_a_checkpoint_are_read_after_restore";
    if !can_run(test) {
        return;
    }
    common::become_subreaper();
    let mut b = Bundle::new("ckpt-nl", &["/bin/netlink_queued"]);
    b.spec["linux"]["namespaces"]
        .as_array_mut()
        .unwrap()
        .push(serde_json::json!({ "type": "network" }));
    b.save();
    let src = common::workspace_root().join("tests/checkpoint/netlink_queued.c");
    let ok = Command::new("gcc")
        .args(["-O1", "-Wall", "-static", "-o"])
        .arg(b.dir().join("rootfs/bin/netlink_queued"))
        .arg(&src)
        .status()
        .is_ok_and(|s| s.success());
    if !ok {
        eprintln!("SKIP {test}: cannot link the program statically");
        return;
    }
    b.create("nl", &[]).ok();
    b.runsc(&["start", "nl"]).ok();
    wait_for(&b, "nl", "queued 1");

    let image = b.file("image");
    b.runsc(&["checkpoint", "--image-path", image.to_str().unwrap(), "nl"])
        .ok();
    assert_eq!(b.status("nl"), "stopped");
    b.runsc(&["delete", "nl"]).ok();
    let r = b.restore_detached("nl", &image, "nl-restored");
    assert_eq!(r.code(), 0, "{r:#?}");
    b.runsc(&["kill", "nl", "USR1"]).ok();
    let out = wait_for(&b, "nl-restored", "done seq 7");
    assert!(out.contains("link 1 lo"), "{out}");
    b.clean(&["nl"]);
}
