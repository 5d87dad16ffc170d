//! The netlink wire format: message headers (`struct nlmsghdr`), route
//! attributes (`struct nlattr`/`rtattr`) and the 4-byte alignment both
//! use, read from untrusted bytes without ever trusting a length, and
//! written in the host's byte order as Linux does.

/// `NLMSG_HDRLEN`.
pub const HDR_LEN: usize = 16;
/// `NLA_HDRLEN`.
pub const ATTR_HDR_LEN: usize = 4;

// Message types of every netlink family.
pub const NLMSG_NOOP: u16 = 1;
pub const NLMSG_ERROR: u16 = 2;
pub const NLMSG_DONE: u16 = 3;
/// Types below this are control messages, never requests.
pub const NLMSG_MIN_TYPE: u16 = 0x10;

// Message flags.
pub const NLM_F_REQUEST: u16 = 0x1;
pub const NLM_F_MULTI: u16 = 0x2;
pub const NLM_F_ACK: u16 = 0x4;
/// `NLM_F_ROOT | NLM_F_MATCH`: either bit asks for a dump.
pub const NLM_F_DUMP: u16 = 0x300;
/// Of an `NLMSG_ERROR`: the request is not echoed whole.
pub const NLM_F_CAPPED: u16 = 0x100;

/// `NLMSG_ALIGN` / `NLA_ALIGN`.
pub fn align4(n: usize) -> usize {
    n.saturating_add(3) & !3
}

/// A message header as it was read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Header {
    pub len: u32,
    pub ty: u16,
    pub flags: u16,
    pub seq: u32,
    pub pid: u32,
}

impl Header {
    /// The header at the start of `b`, if there are 16 bytes.
    pub fn parse(b: &[u8]) -> Option<Header> {
        if b.len() < HDR_LEN {
            return None;
        }
        Some(Header {
            len: u32::from_ne_bytes(b[0..4].try_into().ok()?),
            ty: u16::from_ne_bytes(b[4..6].try_into().ok()?),
            flags: u16::from_ne_bytes(b[6..8].try_into().ok()?),
            seq: u32::from_ne_bytes(b[8..12].try_into().ok()?),
            pid: u32::from_ne_bytes(b[12..16].try_into().ok()?),
        })
    }
}

/// Splits a buffer of requests into messages (header and whole message
/// bytes) as Linux's `netlink_rcv_skb` walks them: it stops, silently, at
/// the first header shorter than itself or longer than what is left.
pub fn messages(mut b: &[u8]) -> Vec<(Header, &[u8])> {
    let mut out = Vec::new();
    while let Some(h) = Header::parse(b) {
        let len = h.len as usize;
        if len < HDR_LEN || len > b.len() {
            break;
        }
        out.push((h, &b[..len]));
        let step = align4(len).min(b.len());
        b = &b[step..];
    }
    out
}

/// Attributes found in `b`: (type without the nested/byte-order bits,
/// payload). Parsing stops at the first attribute whose length is short
/// or runs past the end, as `nla_for_each_attr` does.
pub fn attrs(mut b: &[u8]) -> Vec<(u16, &[u8])> {
    let mut out = Vec::new();
    while b.len() >= ATTR_HDR_LEN {
        let len = u16::from_ne_bytes([b[0], b[1]]) as usize;
        let ty = u16::from_ne_bytes([b[2], b[3]]) & 0x3fff;
        if len < ATTR_HDR_LEN || len > b.len() {
            break;
        }
        out.push((ty, &b[ATTR_HDR_LEN..len]));
        let step = align4(len).min(b.len());
        b = &b[step..];
    }
    out
}

/// Builds one message: a header, a fixed part, attributes.
pub struct MsgBuilder {
    buf: Vec<u8>,
}

impl MsgBuilder {
    pub fn new(ty: u16, flags: u16, seq: u32, pid: u32) -> MsgBuilder {
        let mut buf = Vec::with_capacity(256);
        buf.extend_from_slice(&0u32.to_ne_bytes());
        buf.extend_from_slice(&ty.to_ne_bytes());
        buf.extend_from_slice(&flags.to_ne_bytes());
        buf.extend_from_slice(&seq.to_ne_bytes());
        buf.extend_from_slice(&pid.to_ne_bytes());
        MsgBuilder { buf }
    }

    /// Appends raw bytes (the fixed part), padded to 4.
    pub fn raw(&mut self, b: &[u8]) -> &mut Self {
        self.buf.extend_from_slice(b);
        self.pad();
        self
    }

    fn pad(&mut self) {
        let n = align4(self.buf.len());
        self.buf.resize(n, 0);
    }

    /// Appends one attribute, padded to 4.
    pub fn attr(&mut self, ty: u16, data: &[u8]) -> &mut Self {
        let len = (ATTR_HDR_LEN + data.len()) as u16;
        self.buf.extend_from_slice(&len.to_ne_bytes());
        self.buf.extend_from_slice(&ty.to_ne_bytes());
        self.buf.extend_from_slice(data);
        self.pad();
        self
    }

    pub fn u8(&mut self, ty: u16, v: u8) -> &mut Self {
        self.attr(ty, &[v])
    }

    pub fn u32(&mut self, ty: u16, v: u32) -> &mut Self {
        self.attr(ty, &v.to_ne_bytes())
    }

    /// A NUL-terminated string attribute.
    pub fn str(&mut self, ty: u16, s: &str) -> &mut Self {
        let mut v = s.as_bytes().to_vec();
        v.push(0);
        self.attr(ty, &v)
    }

    /// The message, its length set.
    pub fn finish(mut self) -> Vec<u8> {
        let len = self.buf.len() as u32;
        self.buf[0..4].copy_from_slice(&len.to_ne_bytes());
        self.buf
    }
}
