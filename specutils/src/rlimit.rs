//! Resource limit names as the OCI spec writes them (`RLIMIT_NOFILE`) and the
//! numbers `setrlimit(2)` takes.

use oci_spec::runtime::PosixRlimitType;

/// Every Linux resource limit, by name and number. The numbers are the same
/// on x86-64 and arm64.
pub const RLIMITS: [(&str, u32); 16] = [
    ("RLIMIT_CPU", 0),
    ("RLIMIT_FSIZE", 1),
    ("RLIMIT_DATA", 2),
    ("RLIMIT_STACK", 3),
    ("RLIMIT_CORE", 4),
    ("RLIMIT_RSS", 5),
    ("RLIMIT_NPROC", 6),
    ("RLIMIT_NOFILE", 7),
    ("RLIMIT_MEMLOCK", 8),
    ("RLIMIT_AS", 9),
    ("RLIMIT_LOCKS", 10),
    ("RLIMIT_SIGPENDING", 11),
    ("RLIMIT_MSGQUEUE", 12),
    ("RLIMIT_NICE", 13),
    ("RLIMIT_RTPRIO", 14),
    ("RLIMIT_RTTIME", 15),
];

/// The number of the limit named `name`, such as `RLIMIT_NOFILE`.
pub fn rlimit_number(name: &str) -> Option<u32> {
    RLIMITS
        .iter()
        .find(|(known, _)| *known == name)
        .map(|&(_, number)| number)
}

/// The number of a limit as oci-spec parsed it.
pub fn rlimit_type_number(typ: PosixRlimitType) -> u32 {
    match typ {
        PosixRlimitType::RlimitCpu => 0,
        PosixRlimitType::RlimitFsize => 1,
        PosixRlimitType::RlimitData => 2,
        PosixRlimitType::RlimitStack => 3,
        PosixRlimitType::RlimitCore => 4,
        PosixRlimitType::RlimitRss => 5,
        PosixRlimitType::RlimitNproc => 6,
        PosixRlimitType::RlimitNofile => 7,
        PosixRlimitType::RlimitMemlock => 8,
        PosixRlimitType::RlimitAs => 9,
        PosixRlimitType::RlimitLocks => 10,
        PosixRlimitType::RlimitSigpending => 11,
        PosixRlimitType::RlimitMsgqueue => 12,
        PosixRlimitType::RlimitNice => 13,
        PosixRlimitType::RlimitRtprio => 14,
        PosixRlimitType::RlimitRttime => 15,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_match_the_c_library() {
        let expected = [
            libc::RLIMIT_CPU,
            libc::RLIMIT_FSIZE,
            libc::RLIMIT_DATA,
            libc::RLIMIT_STACK,
            libc::RLIMIT_CORE,
            libc::RLIMIT_RSS,
            libc::RLIMIT_NPROC,
            libc::RLIMIT_NOFILE,
            libc::RLIMIT_MEMLOCK,
            libc::RLIMIT_AS,
            libc::RLIMIT_LOCKS,
            libc::RLIMIT_SIGPENDING,
            libc::RLIMIT_MSGQUEUE,
            libc::RLIMIT_NICE,
            libc::RLIMIT_RTPRIO,
            libc::RLIMIT_RTTIME,
        ];
        for ((name, number), libc_number) in RLIMITS.iter().zip(expected) {
            assert_eq!(u64::from(*number), libc_number as u64, "{name}");
        }
    }

    #[test]
    fn names_and_parsed_types_agree() {
        for (name, number) in RLIMITS {
            assert_eq!(rlimit_number(name), Some(number));
            let typ: PosixRlimitType = serde_json::from_str(&format!("{name:?}")).unwrap();
            assert_eq!(rlimit_type_number(typ), number, "{name}");
        }
        assert_eq!(rlimit_number("RLIMIT_BOGUS"), None);
        assert_eq!(rlimit_number("nofile"), None);
    }
}
