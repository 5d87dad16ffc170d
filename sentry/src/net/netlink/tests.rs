//! Netlink messages: parsing of hostile input, the replies of rtnetlink
//! for the sandbox's links, and a socket's queued replies through the
//! checkpoint encoding.

use super::route::{self, Counters, Ctx, Link, V4};
use super::wire::{self, Header, MsgBuilder};
use crate::errno::Errno;
use std::net::Ipv4Addr;

fn links() -> Vec<Link> {
    vec![
        Link {
            index: 1,
            name: "lo".into(),
            loopback: true,
            mtu: 65536,
            mac: [0; 6],
            stats: Counters::default(),
            v4: Some(V4 {
                addr: Ipv4Addr::LOCALHOST,
                prefix: 8,
                gateway: None,
            }),
            v6_loopback: true,
        },
        Link {
            index: 7,
            name: "eth0".into(),
            loopback: false,
            mtu: 1500,
            mac: [2, 0, 0, 0, 0, 9],
            stats: Counters {
                rx_bytes: 10,
                rx_packets: 1,
                ..Counters::default()
            },
            v4: Some(V4 {
                addr: Ipv4Addr::new(10, 1, 2, 3),
                prefix: 24,
                gateway: Some(Ipv4Addr::new(10, 1, 2, 1)),
            }),
            v6_loopback: false,
        },
    ]
}

const CTX: Ctx = Ctx {
    portid: 42,
    admin: false,
    cap_ack: false,
};

fn req(ty: u16, flags: u16, seq: u32, body: &[u8]) -> Vec<u8> {
    let mut b = MsgBuilder::new(ty, flags, seq, 0);
    b.raw(body);
    b.finish()
}

/// Every message of the datagrams, in order.
fn msgs(out: &[Vec<u8>]) -> Vec<(Header, Vec<u8>)> {
    out.iter()
        .flat_map(|d| {
            wire::messages(d)
                .into_iter()
                .map(|(h, m)| (h, m[wire::HDR_LEN..].to_vec()))
                .collect::<Vec<_>>()
        })
        .collect()
}

fn error_of(body: &[u8]) -> i32 {
    i32::from_ne_bytes(body[..4].try_into().unwrap())
}

fn attr(body: &[u8], fixed: usize, ty: u16) -> Option<Vec<u8>> {
    wire::attrs(&body[fixed..])
        .into_iter()
        .find(|(t, _)| *t == ty)
        .map(|(_, v)| v.to_vec())
}

#[test]
fn hostile_lengths_end_the_walk_silently() {
    let mut h = req(route::RTM_GETLINK, 0x305, 1, &[0; 16]);
    // Longer than the data, shorter than a header, zero, huge.
    for len in [h.len() as u32 + 1, 15, 0, u32::MAX] {
        h[0..4].copy_from_slice(&len.to_ne_bytes());
        assert!(route::handle(&h, &links(), &CTX).is_empty(), "len {len}");
    }
    for n in 0..16 {
        assert!(route::handle(&h[..n], &links(), &CTX).is_empty());
    }
    // A good message after a bad one is not reached; one before is
    // answered.
    let good = req(route::RTM_GETLINK, 0x1 | 0x4, 2, &[0; 0]);
    let mut two = good.clone();
    two.extend_from_slice(&h);
    let out = msgs(&route::handle(&two, &links(), &CTX));
    assert_eq!(out.len(), 1);
    assert_eq!(out[0].0.ty, wire::NLMSG_ERROR);
    assert_eq!(error_of(&out[0].1), 0);
}

#[test]
fn attributes_with_bad_lengths_stop_parsing() {
    let mut b = Vec::new();
    b.extend_from_slice(&8u16.to_ne_bytes());
    b.extend_from_slice(&3u16.to_ne_bytes());
    b.extend_from_slice(b"lo\0\0");
    // Length 2 (shorter than its header), then one past the end.
    b.extend_from_slice(&2u16.to_ne_bytes());
    b.extend_from_slice(&4u16.to_ne_bytes());
    assert_eq!(wire::attrs(&b), vec![(3, &b"lo\0\0"[..])]);
    let mut c = b[..8].to_vec();
    c.extend_from_slice(&200u16.to_ne_bytes());
    c.extend_from_slice(&4u16.to_ne_bytes());
    assert_eq!(wire::attrs(&c).len(), 1);
    assert!(wire::attrs(&[1, 0]).is_empty());
}

#[test]
fn link_dump_lists_every_link_then_done() {
    let out = route::handle(&req(route::RTM_GETLINK, 0x301, 9, &[0]), &links(), &CTX);
    assert_eq!(out.len(), 1, "a small dump is one datagram");
    let m = msgs(&out);
    assert_eq!(m.len(), 3);
    for (h, _) in &m {
        assert_eq!((h.seq, h.pid), (9, 42));
        assert_eq!(h.flags & wire::NLM_F_MULTI, wire::NLM_F_MULTI);
    }
    let (h, eth) = &m[1];
    assert_eq!(h.ty, route::RTM_NEWLINK);
    assert_eq!(u16::from_ne_bytes([eth[2], eth[3]]), 1, "ARPHRD_ETHER");
    assert_eq!(i32::from_ne_bytes(eth[4..8].try_into().unwrap()), 7);
    assert_eq!(attr(eth, 16, route::IFLA_IFNAME).unwrap(), b"eth0\0");
    assert_eq!(attr(eth, 16, 1).unwrap(), [2, 0, 0, 0, 0, 9]);
    assert_eq!(attr(eth, 16, 4).unwrap(), 1500u32.to_ne_bytes());
    assert_eq!(attr(eth, 16, 7).unwrap().len(), 96);
    assert_eq!(attr(eth, 16, 23).unwrap().len(), 200);
    assert_eq!(m[2].0.ty, wire::NLMSG_DONE);
    assert_eq!(m[2].0.len, 20);
}

#[test]
fn one_link_by_index_or_name() {
    let mut ifi = [0u8; 16];
    ifi[4..8].copy_from_slice(&7i32.to_ne_bytes());
    let m = msgs(&route::handle(
        &req(route::RTM_GETLINK, 1, 3, &ifi),
        &links(),
        &CTX,
    ));
    assert_eq!(m.len(), 1);
    assert_eq!(m[0].0.flags, 0);
    // By name, acknowledged.
    let mut body = [0u8; 16].to_vec();
    body.extend_from_slice(&7u16.to_ne_bytes());
    body.extend_from_slice(&route::IFLA_IFNAME.to_ne_bytes());
    body.extend_from_slice(b"lo\0\0");
    let m = msgs(&route::handle(
        &req(route::RTM_GETLINK, 5, 3, &body),
        &links(),
        &CTX,
    ));
    assert_eq!(m.len(), 2);
    assert_eq!(i32::from_ne_bytes(m[0].1[4..8].try_into().unwrap()), 1);
    assert_eq!(m[1].0.ty, wire::NLMSG_ERROR);
    assert_eq!(m[1].0.flags, wire::NLM_F_CAPPED);
    assert_eq!(m[1].0.len, 36);
    // Unknown index; neither index nor name; a name too long.
    ifi[4..8].copy_from_slice(&99i32.to_ne_bytes());
    let m = msgs(&route::handle(
        &req(route::RTM_GETLINK, 1, 3, &ifi),
        &links(),
        &CTX,
    ));
    assert_eq!(error_of(&m[0].1), -(Errno::ENODEV as i32));
    assert_eq!(m[0].0.len as usize, 16 + 4 + 32, "the request is echoed");
    let m = msgs(&route::handle(
        &req(route::RTM_GETLINK, 1, 3, &[0; 16]),
        &links(),
        &CTX,
    ));
    assert_eq!(error_of(&m[0].1), -(Errno::EINVAL as i32));
    let mut long = [0u8; 16].to_vec();
    long.extend_from_slice(&24u16.to_ne_bytes());
    long.extend_from_slice(&route::IFLA_IFNAME.to_ne_bytes());
    long.extend_from_slice(&[b'x'; 20]);
    let m = msgs(&route::handle(
        &req(route::RTM_GETLINK, 1, 3, &long),
        &links(),
        &CTX,
    ));
    assert_eq!(error_of(&m[0].1), -(Errno::ERANGE as i32));
}

#[test]
fn addresses_and_routes() {
    let m = msgs(&route::handle(
        &req(route::RTM_GETADDR, 0x301, 4, &[libc::AF_INET as u8]),
        &links(),
        &CTX,
    ));
    assert_eq!(m.len(), 3);
    let eth = &m[1].1;
    assert_eq!(&eth[..4], &[libc::AF_INET as u8, 24, 0x80, 0]);
    assert_eq!(attr(eth, 8, 1).unwrap(), [10, 1, 2, 3]);
    assert_eq!(attr(eth, 8, 2).unwrap(), [10, 1, 2, 3]);
    assert_eq!(attr(eth, 8, 4).unwrap(), [10, 1, 2, 255]);
    assert_eq!(attr(eth, 8, 3).unwrap(), b"eth0\0");
    assert_eq!(attr(&m[0].1, 8, 4), None, "no broadcast on lo");
    // AF_UNSPEC adds ::1.
    let m = msgs(&route::handle(
        &req(route::RTM_GETADDR, 0x301, 4, &[0]),
        &links(),
        &CTX,
    ));
    assert_eq!(m.len(), 4);
    assert_eq!(m[2].1[0], libc::AF_INET6 as u8);

    let m = msgs(&route::handle(
        &req(route::RTM_GETROUTE, 0x301, 5, &[libc::AF_INET as u8]),
        &links(),
        &CTX,
    ));
    // main: default, 10.1.2.0/24; local: 10.1.2.3, 10.1.2.255,
    // 127.0.0.0/8, 127.0.0.1, 127.255.255.255; done.
    assert_eq!(m.len(), 8);
    let default = &m[0].1;
    assert_eq!(default[1], 0, "dst_len");
    assert_eq!(default[4], 254, "main table");
    assert_eq!(attr(default, 12, 5).unwrap(), [10, 1, 2, 1]);
    assert_eq!(attr(default, 12, 4).unwrap(), 7u32.to_ne_bytes());
    let subnet = &m[1].1;
    assert_eq!((subnet[1], subnet[6]), (24, 253));
    assert_eq!(attr(subnet, 12, 1).unwrap(), [10, 1, 2, 0]);
    assert_eq!(attr(subnet, 12, 7).unwrap(), [10, 1, 2, 3]);
    assert!(m[2..7].iter().all(|(_, b)| b[4] == 255));
    assert_eq!(attr(&m[4].1, 12, 1).unwrap(), [127, 0, 0, 0]);
}

#[test]
fn changes_and_unknown_types_are_refused() {
    for ty in [route::RTM_NEWADDR, route::RTM_NEWROUTE, 19, 17] {
        let m = msgs(&route::handle(&req(ty, 1, 1, &[0; 16]), &links(), &CTX));
        assert_eq!(error_of(&m[0].1), -(Errno::EPERM as i32), "type {ty}");
        let admin = Ctx { admin: true, ..CTX };
        let m = msgs(&route::handle(&req(ty, 1, 1, &[0; 16]), &links(), &admin));
        assert_eq!(error_of(&m[0].1), -(Errno::EOPNOTSUPP as i32));
    }
    for ty in [200, 0xffff, route::RTM_GETADDR] {
        let m = msgs(&route::handle(&req(ty, 1, 1, &[0; 16]), &links(), &CTX));
        assert_eq!(error_of(&m[0].1), -(Errno::EOPNOTSUPP as i32), "type {ty}");
    }
    // NETLINK_CAP_ACK: the header alone.
    let capped = Ctx {
        cap_ack: true,
        ..CTX
    };
    let m = msgs(&route::handle(&req(200, 1, 1, &[0; 16]), &links(), &capped));
    assert_eq!(m[0].0.len, 36);
    assert_eq!(m[0].0.flags, wire::NLM_F_CAPPED);
    // Not requests, control types: acknowledged only when asked.
    assert!(route::handle(&req(route::RTM_GETLINK, 0, 1, &[0]), &links(), &CTX).is_empty());
    let m = msgs(&route::handle(&req(1, 5, 1, &[0]), &links(), &CTX));
    assert_eq!((m.len(), error_of(&m[0].1)), (1, 0));
}

#[test]
fn large_dumps_are_split_into_datagrams() {
    let many: Vec<Link> = (0..40)
        .map(|i| Link {
            index: i + 2,
            name: format!("eth{i}"),
            ..links()[1].clone()
        })
        .collect();
    let out = route::handle(&req(route::RTM_GETLINK, 0x301, 1, &[0]), &many, &CTX);
    assert!(out.len() > 1);
    assert!(out.iter().all(|d| d.len() <= route::GOODSIZE));
    let m = msgs(&out);
    assert_eq!(m.len(), 41);
    assert_eq!(m[40].0.ty, wire::NLMSG_DONE);
}

#[test]
fn queued_replies_survive_the_state_encoding() {
    use crate::net::io::{self, Extra};
    use crate::net::{Addr, Domain, Kind};
    let _one_platform = crate::sandbox::TEST_BOOT_LOCK
        .lock()
        .unwrap_or_else(|e| e.into_inner());
    let mut k = crate::net::tests::boot();
    let tid = k.init;
    let (s, _) = io::new_socket(&mut k, tid, Domain::Netlink, Kind::Raw, 0, false);
    let (s2, _) = io::new_socket(&mut k, tid, Domain::Netlink, Kind::Raw, 0, false);
    io::bind(&mut k, tid, s, Addr::Netlink { pid: 0, groups: 0 }).unwrap();
    let pid = k.tgid(tid) as u32;
    assert_eq!(
        k.vfs.net.get(s).unwrap().local,
        Some(Addr::Netlink { pid, groups: 0 })
    );
    assert_eq!(
        io::bind(&mut k, tid, s2, Addr::Netlink { pid, groups: 0 }),
        Err(Errno::EADDRINUSE)
    );
    let r = req(route::RTM_GETLINK, 0x301, 1, &[0]);
    io::send(&mut k, tid, s, &r, Extra::default(), 0, false).unwrap();
    let queued = k.vfs.net.get(s).unwrap().rx.len();
    assert_eq!(queued, 1);

    let image = crate::state::encode(&k).unwrap();
    let mut back = crate::state::decode(&image).unwrap();
    let x = back.vfs.net.get(s).unwrap();
    assert_eq!(x.domain, Domain::Netlink);
    assert_eq!(x.rx.len(), queued);
    let g = io::read(&mut back, tid, s, 65536, true).unwrap();
    let m = wire::messages(&g);
    assert_eq!(m.last().unwrap().0.ty, wire::NLMSG_DONE);
    assert_eq!(m[0].0.pid, pid);
}

#[test]
fn unread_replies_overrun_the_receive_buffer() {
    use crate::net::io::{self, Extra};
    use crate::net::{Domain, Kind};
    let _one_platform = crate::sandbox::TEST_BOOT_LOCK
        .lock()
        .unwrap_or_else(|e| e.into_inner());
    let mut k = crate::net::tests::boot();
    let tid = k.init;
    let (s, _) = io::new_socket(&mut k, tid, Domain::Netlink, Kind::Dgram, 0, true);
    k.vfs.net.get_mut(s).unwrap().opts.rcvbuf = 4096;
    let mut ifi = [0u8; 16];
    ifi[4..8].copy_from_slice(&1i32.to_ne_bytes());
    let one = req(route::RTM_GETLINK, 1, 1, &ifi);
    for _ in 0..20 {
        io::send(&mut k, tid, s, &one, Extra::default(), 0, true).unwrap();
    }
    let x = k.vfs.net.get(s).unwrap();
    assert!(x.rx.len() < 20, "some replies were dropped");
    assert_eq!(x.error, libc::ENOBUFS);
    // A dump is queued whole however full the queue is.
    let before = x.rx.len();
    let dump = req(route::RTM_GETLINK, 0x301, 2, &[0]);
    io::send(&mut k, tid, s, &dump, Extra::default(), 0, true).unwrap();
    assert_eq!(k.vfs.net.get(s).unwrap().rx.len(), before + 1);
    // The queued replies are read first, then the error.
    for _ in 0..before + 1 {
        io::read(&mut k, tid, s, 65536, true).unwrap();
    }
    assert!(matches!(
        io::read(&mut k, tid, s, 65536, true),
        Err(crate::syscalls::SysErr::Errno(Errno::ENOBUFS))
    ));
}

#[test]
fn route_lookups() {
    let get = |dst: [u8; 4]| {
        let mut body = [0u8; 12].to_vec();
        body[0] = libc::AF_INET as u8;
        body.extend_from_slice(&8u16.to_ne_bytes());
        body.extend_from_slice(&1u16.to_ne_bytes());
        body.extend_from_slice(&dst);
        let m = msgs(&route::handle(
            &req(route::RTM_GETROUTE, 1, 6, &body),
            &links(),
            &CTX,
        ));
        m[0].clone()
    };
    // Through the gateway, on the link, to itself, to the loopback.
    let (h, r) = get([8, 8, 8, 8]);
    assert_eq!(h.ty, route::RTM_NEWROUTE);
    assert_eq!((r[1], r[4], r[7]), (32, 254, 1));
    assert_eq!(attr(&r, 12, 5).unwrap(), [10, 1, 2, 1]);
    assert_eq!(attr(&r, 12, 7).unwrap(), [10, 1, 2, 3]);
    assert_eq!(attr(&r, 12, 4).unwrap(), 7u32.to_ne_bytes());
    let (_, r) = get([10, 1, 2, 9]);
    assert_eq!((r[4], r[7]), (254, 1));
    assert_eq!(attr(&r, 12, 5), None);
    let (_, r) = get([10, 1, 2, 3]);
    assert_eq!((r[4], r[7]), (255, 2));
    assert_eq!(attr(&r, 12, 4).unwrap(), 1u32.to_ne_bytes());
    let (_, r) = get([127, 0, 0, 5]);
    assert_eq!(attr(&r, 12, 7).unwrap(), [127, 0, 0, 1]);
    let (_, r) = get([10, 1, 2, 255]);
    assert_eq!(r[7], 3, "broadcast");
    let (_, r) = get([255, 255, 255, 255]);
    assert_eq!(r[7], 3);
    assert_eq!(attr(&r, 12, 4).unwrap(), 7u32.to_ne_bytes());
    // No route without a gateway; IPv6 lookups are not served.
    let lonely = vec![links()[0].clone()];
    let mut body = [0u8; 12].to_vec();
    body[0] = libc::AF_INET as u8;
    body.extend_from_slice(&8u16.to_ne_bytes());
    body.extend_from_slice(&1u16.to_ne_bytes());
    body.extend_from_slice(&[8, 8, 8, 8]);
    let m = msgs(&route::handle(
        &req(route::RTM_GETROUTE, 1, 6, &body),
        &lonely,
        &CTX,
    ));
    assert_eq!(error_of(&m[0].1), -(Errno::ENETUNREACH as i32));
    body[0] = libc::AF_INET6 as u8;
    let m = msgs(&route::handle(
        &req(route::RTM_GETROUTE, 1, 6, &body),
        &links(),
        &CTX,
    ));
    assert_eq!(error_of(&m[0].1), -(Errno::EOPNOTSUPP as i32));
}
