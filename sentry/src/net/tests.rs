//! Sockets in a booted kernel, and their survival through the checkpoint
//! encoding: a listening unix socket and a loopback TCP connection with
//! data and a pending connection in flight come back as they were; so do
//! ICMP sockets with the echo messages loopback gave them.

use super::io::{self, Extra};
use super::{Addr, Domain, Kind, State};
use crate::config::Config;
use std::net::SocketAddr;

/// A booted kernel running `/bin/true`, for the socket tests here and in
/// `netlink` (the caller holds `TEST_BOOT_LOCK`).
pub(in crate::net) fn boot() -> crate::kernel::Kernel {
    let cfg = Config {
        argv: vec!["/bin/true".into()],
        env: vec!["PATH=/bin".into()],
        ..Config::default()
    };
    crate::sandbox::boot(&cfg).expect("boot /bin/true")
}

#[test]
fn sockets_survive_the_state_encoding() {
    let _one_platform = crate::sandbox::TEST_BOOT_LOCK
        .lock()
        .unwrap_or_else(|e| e.into_inner());
    let mut k = boot();
    let tid = k.init;

    // A unix listener on an abstract name with one connection queued.
    let (ul, _) = io::new_socket(&mut k, tid, Domain::Unix, Kind::Stream, 0, false);
    io::bind(&mut k, tid, ul, Addr::Abstract(b"saved".to_vec())).unwrap();
    io::listen(&mut k, tid, ul, 8).unwrap();
    let (uc, _) = io::new_socket(&mut k, tid, Domain::Unix, Kind::Stream, 0, false);
    io::connect(
        &mut k,
        tid,
        uc,
        Some(Addr::Abstract(b"saved".to_vec())),
        false,
    )
    .unwrap();
    let sent = io::send(&mut k, tid, uc, b"queued", Extra::default(), 0, false).unwrap();
    assert_eq!(sent, 6);

    // A TCP listener on loopback, a connection accepted, data both ways.
    let (tl, _) = io::new_socket(&mut k, tid, Domain::Inet, Kind::Stream, 0, false);
    let any: SocketAddr = "127.0.0.1:0".parse().unwrap();
    io::bind(&mut k, tid, tl, Addr::Inet(any)).unwrap();
    io::listen(&mut k, tid, tl, 8).unwrap();
    let Some(Addr::Inet(at)) = k.vfs.net.get(tl).unwrap().local.clone() else {
        panic!("the listener has an address");
    };
    let (tc, _) = io::new_socket(&mut k, tid, Domain::Inet, Kind::Stream, 0, false);
    io::connect(&mut k, tid, tc, Some(Addr::Inet(at)), false).unwrap();
    let (_, _) = io::accept(&mut k, tid, tl, true, false).unwrap();
    io::send(&mut k, tid, tc, b"in flight", Extra::default(), 0, false).unwrap();

    let image = crate::state::encode(&k).unwrap();
    let back = crate::state::decode(&image).unwrap();
    assert_eq!(crate::state::encode(&back).unwrap(), image);

    let n = &back.vfs.net;
    assert_eq!(n.unix_abstract.get(b"saved".as_slice()), Some(&ul));
    match &n.get(ul).unwrap().state {
        State::Listening { backlog, pending } => {
            assert_eq!(*backlog, 8);
            assert_eq!(pending.len(), 1);
            let srv = n.get(pending[0]).unwrap();
            assert_eq!(srv.rx_len, 6);
            assert_eq!(srv.state, State::Connected { peer: uc });
        }
        other => panic!("the unix listener came back as {other:?}"),
    }
    assert!(n.get(tl).unwrap().listening());
    assert_eq!(n.find_inet(super::Proto::Tcp, at, true), Some(tl));
    let State::Connected { peer } = n.get(tc).unwrap().state else {
        panic!("the TCP client is connected");
    };
    let p = n.get(peer).unwrap();
    assert_eq!(
        p.rx.front().map(|m| m.data.as_slice()),
        Some(b"in flight".as_slice())
    );
    assert!(p.file.is_some(), "the accepted socket has its open file");
}

#[test]
fn icmp_echo_on_loopback_and_through_the_state_encoding() {
    let _one_platform = crate::sandbox::TEST_BOOT_LOCK
        .lock()
        .unwrap_or_else(|e| e.into_inner());
    let mut k = boot();
    let tid = k.init;
    let icmp = libc::IPPROTO_ICMP;
    let (raw, _) = io::new_socket(&mut k, tid, Domain::Inet, Kind::Raw, icmp, false);
    let (ping, _) = io::new_socket(&mut k, tid, Domain::Inet, Kind::Dgram, icmp, false);
    let lo: SocketAddr = "127.0.0.1:0".parse().unwrap();
    // An echo request: the kernel sets the identifier and the checksum.
    let request = [8, 0, 0, 0, 0, 0, 0, 9, b'h', b'i'];
    let to = || Extra {
        to: Some(Addr::Inet(lo)),
        ..Extra::default()
    };
    assert_eq!(
        io::send(&mut k, tid, ping, &request, to(), 0, false).unwrap(),
        10
    );
    // Only echo requests go through a ping socket.
    let mut reply_kind = request;
    reply_kind[0] = 0;
    assert!(io::send(&mut k, tid, ping, &reply_kind, to(), 0, false).is_err());
    let Some(Addr::Inet(me)) = k.vfs.net.get(ping).unwrap().local.clone() else {
        panic!("the ping socket got an identifier");
    };

    let image = crate::state::encode(&k).unwrap();
    let back = crate::state::decode(&image).unwrap();
    let n = &back.vfs.net;
    assert_eq!(n.find_inet(super::Proto::Icmp, me, false), Some(ping));
    // The ping socket has the reply (no IP header) with its identifier.
    let got: Vec<&[u8]> = n
        .get(ping)
        .unwrap()
        .rx
        .iter()
        .map(|m| m.data.as_slice())
        .collect();
    assert_eq!(got.len(), 1);
    let r = got[0];
    assert_eq!((r[0], r[1], &r[6..]), (0, 0, &[0u8, 9, b'h', b'i'][..]));
    assert_eq!(u16::from_be_bytes([r[4], r[5]]), me.port());
    assert_eq!(super::icmp::checksum(r), 0);
    // The raw socket saw the request pass loopback, then the reply, each
    // with its IP header.
    let x = n.get(raw).unwrap();
    assert_eq!(x.kind, Kind::Raw);
    let types: Vec<(u8, u8, usize)> =
        x.rx.iter()
            .map(|m| (m.data[9], m.data[20], m.data.len()))
            .collect();
    assert_eq!(types, [(1, 8, 30), (1, 0, 30)]);
}
