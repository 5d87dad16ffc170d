//! The container's network interfaces as the host sees them, in the
//! sandbox process's network namespace: what `podman` or Docker prepared
//! there (a veth `eth0` with an address and a default route).
//!
//! The runtime takes them, not the sandbox: Docker moves the veth into
//! the namespace from a `prestart` hook, which runs after the sandbox
//! process exists (and has confined itself). So, as gVisor's runsc does,
//! `runsc` enters the sandbox's namespace once the hooks have run
//! ([`take_in`], from a thread of its own), reads each Ethernet link,
//! opens an `AF_PACKET` socket on it, and removes its IP addresses from
//! the host interface; the sockets and what was read go to the sandbox
//! over its control socket (`Request::Network`). From then on the
//! sandbox's own stack (`net::ext`) owns those addresses, and the host
//! kernel of that namespace neither answers ARP for them nor resets
//! connections it does not know. The links stay up. This needs
//! `CAP_NET_ADMIN` in the namespace, which the runtime has; the sandbox
//! needs no privilege for it.

use super::ext::IfaceConf;
use std::net::Ipv4Addr;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::path::Path;

/// An interface found in the namespace with its packet socket.
#[derive(Debug)]
pub struct Found {
    /// Name, index, MAC and MTU as found; address and gateway if the host
    /// interface still had one.
    pub conf: IfaceConf,
    pub has_addr: bool,
    pub fd: OwnedFd,
}

/// `struct ifreq`: the name, then a 24-byte union.
#[repr(C)]
struct IfReq {
    name: [u8; 16],
    data: [u8; 24],
}

impl IfReq {
    fn new(name: &str) -> IfReq {
        let mut r = IfReq {
            name: [0; 16],
            data: [0; 24],
        };
        let n = name.len().min(15);
        r.name[..n].copy_from_slice(&name.as_bytes()[..n]);
        r
    }

    /// The IPv4 address of a `sockaddr_in` in the union.
    fn ipv4(&self) -> Ipv4Addr {
        Ipv4Addr::new(self.data[4], self.data[5], self.data[6], self.data[7])
    }
}

fn ioctl(fd: i32, req: u64, r: &mut IfReq) -> std::io::Result<()> {
    // SAFETY: every request used here reads or writes one `struct ifreq`,
    // which `r` is.
    let rc = unsafe { libc::ioctl(fd, req as _, r as *mut IfReq) };
    if rc < 0 {
        Err(std::io::Error::last_os_error())
    } else {
        Ok(())
    }
}

/// Names and indexes of the namespace's interfaces.
fn interfaces() -> Vec<(String, u32)> {
    let mut out = Vec::new();
    // SAFETY: if_nameindex returns an array ended by a zero entry, freed
    // with if_freenameindex; names are NUL-terminated.
    unsafe {
        let list = libc::if_nameindex();
        if list.is_null() {
            return out;
        }
        let mut p = list;
        while (*p).if_index != 0 && !(*p).if_name.is_null() {
            let name = std::ffi::CStr::from_ptr((*p).if_name)
                .to_string_lossy()
                .into_owned();
            out.push((name, (*p).if_index));
            p = p.add(1);
        }
        libc::if_freenameindex(list);
    }
    out
}

/// The IPv4 default gateway of interface `name` (`/proc/net/route`).
fn gateway(name: &str) -> Option<Ipv4Addr> {
    // The calling thread's namespace (`take_in` enters it in one thread).
    let text = std::fs::read_to_string("/proc/thread-self/net/route").ok()?;
    for line in text.lines().skip(1) {
        let f: Vec<&str> = line.split_whitespace().collect();
        if f.len() < 8 || f[0] != name || f[1] != "00000000" || f[7] != "00000000" {
            continue;
        }
        let g = u32::from_str_radix(f[2], 16).ok()?;
        if g != 0 {
            return Some(Ipv4Addr::from(g.to_le_bytes()));
        }
    }
    None
}

/// An `AF_PACKET` raw socket bound to interface `index`.
fn packet_socket(index: u32) -> std::io::Result<OwnedFd> {
    let proto = (libc::ETH_P_ALL as u16).to_be();
    // SAFETY: socket(2) with integer arguments.
    let fd = unsafe {
        libc::socket(
            libc::AF_PACKET,
            libc::SOCK_RAW | libc::SOCK_NONBLOCK | libc::SOCK_CLOEXEC,
            proto as i32,
        )
    };
    if fd < 0 {
        return Err(std::io::Error::last_os_error());
    }
    // SAFETY: a descriptor we just made and own.
    let owned = unsafe { OwnedFd::from_raw_fd(fd) };
    // SAFETY: zero is a valid sockaddr_ll; bind reads it for its size.
    let rc = unsafe {
        let mut sll: libc::sockaddr_ll = std::mem::zeroed();
        sll.sll_family = libc::AF_PACKET as u16;
        sll.sll_protocol = proto;
        sll.sll_ifindex = index as i32;
        libc::bind(
            fd,
            &sll as *const libc::sockaddr_ll as *const libc::sockaddr,
            std::mem::size_of::<libc::sockaddr_ll>() as u32,
        )
    };
    if rc < 0 {
        return Err(std::io::Error::last_os_error());
    }
    let size: libc::c_int = 4 << 20;
    // SAFETY: the option value is one int. A smaller buffer is not fatal.
    unsafe {
        libc::setsockopt(
            fd,
            libc::SOL_SOCKET,
            libc::SO_RCVBUF,
            &size as *const libc::c_int as *const libc::c_void,
            4,
        );
    }
    Ok(owned)
}

/// [`take`] in the network namespace `ns` (a `/proc/<pid>/ns/net` or a
/// bind mount of one), from a short-lived thread that enters it: the
/// caller's own threads stay where they are.
pub fn take_in(ns: &Path) -> std::io::Result<Vec<Found>> {
    let file = std::fs::File::open(ns)?;
    let worker = std::thread::Builder::new().name("netns".into()).spawn(
        move || -> std::io::Result<Vec<Found>> {
            // SAFETY: setns on a descriptor we hold; CLONE_NEWNET moves only
            // this thread, which ends when it has read the namespace.
            if unsafe { libc::setns(file.as_raw_fd(), libc::CLONE_NEWNET) } < 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(take())
        },
    )?;
    worker
        .join()
        .map_err(|_| std::io::Error::other("reading the network namespace failed"))?
}

/// Reads the calling thread's namespace's non-loopback interfaces, opens a
/// packet socket on each and takes their IPv4 addresses (and IPv6, by
/// disabling it on the interface) away from the host. Interfaces that
/// cannot be opened are skipped with a warning.
fn take() -> Vec<Found> {
    let mut out = Vec::new();
    // SAFETY: socket(2) with integer arguments; the result is checked.
    let s = unsafe { libc::socket(libc::AF_INET, libc::SOCK_DGRAM | libc::SOCK_CLOEXEC, 0) };
    if s < 0 {
        tracing::warn!(
            "cannot read the network interfaces: {}",
            std::io::Error::last_os_error()
        );
        return out;
    }
    // SAFETY: a descriptor we just made and own.
    let sock = unsafe { OwnedFd::from_raw_fd(s) };
    let s = sock.as_raw_fd();
    for (name, index) in interfaces() {
        let mut r = IfReq::new(&name);
        if ioctl(s, libc::SIOCGIFFLAGS, &mut r).is_err() {
            continue;
        }
        let flags = i16::from_ne_bytes([r.data[0], r.data[1]]) as i32;
        if flags & libc::IFF_LOOPBACK != 0 {
            continue;
        }
        let mut r = IfReq::new(&name);
        if ioctl(s, libc::SIOCGIFHWADDR, &mut r).is_err() {
            continue;
        }
        let family = u16::from_ne_bytes([r.data[0], r.data[1]]);
        if family != libc::ARPHRD_ETHER {
            continue;
        }
        let mut mac = [0u8; 6];
        mac.copy_from_slice(&r.data[2..8]);
        let mut r = IfReq::new(&name);
        let mtu = match ioctl(s, libc::SIOCGIFMTU, &mut r) {
            Ok(()) => i32::from_ne_bytes([r.data[0], r.data[1], r.data[2], r.data[3]]),
            Err(_) => 1500,
        };
        let mut r = IfReq::new(&name);
        let addr = ioctl(s, libc::SIOCGIFADDR, &mut r).ok().map(|_| r.ipv4());
        let mut r = IfReq::new(&name);
        let prefix = match ioctl(s, libc::SIOCGIFNETMASK, &mut r) {
            Ok(()) => u32::from(r.ipv4()).count_ones() as u8,
            Err(_) => 24,
        };
        let gw = gateway(&name);
        let fd = match packet_socket(index) {
            Ok(fd) => fd,
            Err(e) => {
                tracing::warn!("cannot open a packet socket on {name}: {e}");
                continue;
            }
        };
        if addr.is_some() {
            remove_addresses(s, &name);
        }
        out.push(Found {
            conf: IfaceConf {
                name: name.clone(),
                index,
                mac,
                mtu: mtu.clamp(576, 65535) as u32,
                addr: addr.unwrap_or(Ipv4Addr::UNSPECIFIED),
                prefix,
                gateway: gw,
            },
            has_addr: addr.is_some(),
            fd,
        });
    }
    out
}

/// Removes every IPv4 address of interface `name` (setting the address
/// to 0.0.0.0 deletes it) and disables IPv6 on it, which removes its IPv6
/// addresses. The link stays up.
fn remove_addresses(s: i32, name: &str) {
    for _ in 0..16 {
        let mut r = IfReq::new(name);
        if ioctl(s, libc::SIOCGIFADDR, &mut r).is_err() {
            break;
        }
        let mut r = IfReq::new(name);
        r.data[..2].copy_from_slice(&(libc::AF_INET as u16).to_ne_bytes());
        if let Err(e) = ioctl(s, libc::SIOCSIFADDR, &mut r) {
            tracing::warn!("cannot remove the address of {name} from the host: {e}");
            break;
        }
    }
    // (A sysctl of the opening thread's namespace.)
    let path = format!("/proc/sys/net/ipv6/conf/{name}/disable_ipv6");
    if let Err(e) = std::fs::write(&path, "1") {
        tracing::debug!("{path}: {e}");
    }
}
