//! Permission checks with a task's filesystem credentials and
//! capabilities: `CAP_DAC_OVERRIDE` passes every check but execute of a
//! file with no execute bit, `CAP_DAC_READ_SEARCH` passes reads and
//! directory search, `CAP_FOWNER` stands for the owner.

use crate::errno::Errno;
use crate::kernel::caps::{CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH, CAP_FOWNER};
use crate::kernel::task::Creds;

pub const MAY_EXEC: u32 = 1;
pub const MAY_WRITE: u32 = 2;
pub const MAY_READ: u32 = 4;

/// True if `c` holds capability `cap` (`crate::kernel::caps::CAP_*`).
pub fn capable(c: &Creds, cap: u32) -> bool {
    c.capable(cap)
}

pub fn in_group(c: &Creds, gid: u32) -> bool {
    c.fsgid == gid || c.groups.contains(&gid)
}

/// `generic_permission`: may `c` access a file of `mode` owned by
/// `uid:gid` for `want` (`MAY_*` bits)?
pub fn check(c: &Creds, mode: u32, uid: u32, gid: u32, want: u32) -> Result<(), Errno> {
    let want = want & 7;
    let is_dir = mode & libc::S_IFMT == libc::S_IFDIR;
    if c.capable(CAP_DAC_READ_SEARCH) && want & MAY_WRITE == 0 && (want & MAY_EXEC == 0 || is_dir) {
        return Ok(());
    }
    if c.capable(CAP_DAC_OVERRIDE) {
        // Execute needs some execute bit, except on directories (search).
        if want & MAY_EXEC == 0 || mode & libc::S_IFMT == libc::S_IFDIR || mode & 0o111 != 0 {
            return Ok(());
        }
        return Err(Errno::EACCES);
    }
    let bits = if c.fsuid == uid {
        (mode >> 6) & 7
    } else if in_group(c, gid) {
        (mode >> 3) & 7
    } else {
        mode & 7
    };
    if bits & want == want {
        Ok(())
    } else {
        Err(Errno::EACCES)
    }
}

/// `inode_owner_or_capable`: the owner or root (`CAP_FOWNER`).
pub fn owner_or_root(c: &Creds, uid: u32) -> bool {
    c.capable(CAP_FOWNER) || c.fsuid == uid
}

/// The sticky-directory rule for removing or renaming an entry: in a
/// sticky directory only the file's owner, the directory's owner or root
/// may.
pub fn sticky_ok(c: &Creds, dir_mode: u32, dir_uid: u32, file_uid: u32) -> bool {
    dir_mode & libc::S_ISVTX == 0
        || c.capable(CAP_FOWNER)
        || c.fsuid == file_uid
        || c.fsuid == dir_uid
}

#[cfg(test)]
mod tests {
    use super::*;

    fn user(uid: u32, gid: u32, groups: Vec<u32>) -> Creds {
        Creds::new(uid, gid, groups)
    }

    #[test]
    fn owner_group_other() {
        let u = user(1000, 1000, vec![27]);
        let reg = libc::S_IFREG;
        assert!(check(&u, reg | 0o600, 1000, 0, MAY_READ | MAY_WRITE).is_ok());
        assert!(check(&u, reg | 0o066, 1000, 1000, MAY_READ).is_err());
        assert!(check(&u, reg | 0o040, 0, 27, MAY_READ).is_ok());
        assert!(check(&u, reg | 0o004, 0, 0, MAY_READ).is_ok());
        assert!(check(&u, reg | 0o004, 0, 0, MAY_WRITE).is_err());
    }

    #[test]
    fn root_bypass() {
        let r = user(0, 0, vec![]);
        assert!(check(&r, libc::S_IFREG, 5, 5, MAY_READ | MAY_WRITE).is_ok());
        assert_eq!(
            check(&r, libc::S_IFREG | 0o644, 5, 5, MAY_EXEC),
            Err(Errno::EACCES)
        );
        assert!(check(&r, libc::S_IFREG | 0o100, 5, 5, MAY_EXEC).is_ok());
        assert!(check(&r, libc::S_IFDIR, 5, 5, MAY_EXEC).is_ok());
    }

    #[test]
    fn sticky() {
        let u = user(1000, 1000, vec![]);
        assert!(sticky_ok(&u, 0o1777, 0, 1000));
        assert!(!sticky_ok(&u, 0o1777, 0, 1001));
        assert!(sticky_ok(&u, 0o777, 0, 1001));
    }
}
