//! Signals as a person or an engine names them on the command line: `KILL`,
//! `SIGKILL`, `sigkill`, `9`, `RTMIN+3`.

/// Linux signal numbers on x86-64 and arm64, by name without the `SIG`.
const SIGNALS: [(&str, i32); 34] = [
    ("HUP", 1),
    ("INT", 2),
    ("QUIT", 3),
    ("ILL", 4),
    ("TRAP", 5),
    ("ABRT", 6),
    ("IOT", 6),
    ("BUS", 7),
    ("FPE", 8),
    ("KILL", 9),
    ("USR1", 10),
    ("SEGV", 11),
    ("USR2", 12),
    ("PIPE", 13),
    ("ALRM", 14),
    ("TERM", 15),
    ("STKFLT", 16),
    ("CHLD", 17),
    ("CLD", 17),
    ("CONT", 18),
    ("STOP", 19),
    ("TSTP", 20),
    ("TTIN", 21),
    ("TTOU", 22),
    ("URG", 23),
    ("XCPU", 24),
    ("XFSZ", 25),
    ("VTALRM", 26),
    ("PROF", 27),
    ("WINCH", 28),
    ("IO", 29),
    ("POLL", 29),
    ("PWR", 30),
    ("SYS", 31),
];

/// The first real-time signal an application can use (the C library keeps
/// the two below it for itself, as `kill -l` shows).
const SIGRTMIN: i32 = 34;
/// The last signal number.
const SIGRTMAX: i32 = 64;

#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum SignalError {
    #[error("unknown signal {0:?}: give a name such as KILL or SIGTERM, or a number")]
    Unknown(String),
    #[error("signal number {0} is out of range: signals go from 0 to {SIGRTMAX}")]
    OutOfRange(i64),
}

/// Parses a signal given by number or by name, with or without `SIG`, in
/// any case. `0` is accepted: it checks that the target exists.
pub fn parse_signal(text: &str) -> Result<i32, SignalError> {
    let text = text.trim();
    if let Ok(number) = text.parse::<i64>() {
        return match i32::try_from(number) {
            Ok(n) if (0..=SIGRTMAX).contains(&n) => Ok(n),
            _ => Err(SignalError::OutOfRange(number)),
        };
    }
    let upper = text.to_ascii_uppercase();
    let name = upper.strip_prefix("SIG").unwrap_or(&upper);
    named(name).ok_or_else(|| SignalError::Unknown(text.to_string()))
}

fn named(name: &str) -> Option<i32> {
    if let Some(&(_, number)) = SIGNALS.iter().find(|(known, _)| *known == name) {
        return Some(number);
    }
    let realtime = if let Some(rest) = name.strip_prefix("RTMIN") {
        SIGRTMIN + offset(rest, '+')?
    } else if let Some(rest) = name.strip_prefix("RTMAX") {
        SIGRTMAX - offset(rest, '-')?
    } else {
        return None;
    };
    (SIGRTMIN..=SIGRTMAX)
        .contains(&realtime)
        .then_some(realtime)
}

/// `""` is 0; otherwise `rest` must be `sign` followed by a small number.
fn offset(rest: &str, sign: char) -> Option<i32> {
    if rest.is_empty() {
        return Some(0);
    }
    let digits = rest.strip_prefix(sign)?;
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    digits.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_numbers_and_prefixes() {
        for text in ["KILL", "SIGKILL", "9", "kill", "SigKill", " 9 "] {
            assert_eq!(parse_signal(text), Ok(9), "{text}");
        }
        assert_eq!(parse_signal("TERM"), Ok(15));
        assert_eq!(parse_signal("SIGHUP"), Ok(1));
        assert_eq!(parse_signal("CHLD"), Ok(17));
        assert_eq!(parse_signal("SIGCLD"), Ok(17));
        assert_eq!(parse_signal("WINCH"), Ok(28));
        assert_eq!(parse_signal("SYS"), Ok(31));
        assert_eq!(parse_signal("0"), Ok(0));
    }

    #[test]
    fn names_match_the_c_library() {
        for (name, number) in SIGNALS {
            let libc_number = match name {
                "HUP" => libc::SIGHUP,
                "KILL" => libc::SIGKILL,
                "STKFLT" => libc::SIGSTKFLT,
                "CHLD" | "CLD" => libc::SIGCHLD,
                "IO" | "POLL" => libc::SIGIO,
                "PWR" => libc::SIGPWR,
                "SYS" => libc::SIGSYS,
                "TSTP" => libc::SIGTSTP,
                "USR2" => libc::SIGUSR2,
                _ => continue,
            };
            assert_eq!(number, libc_number, "{name}");
        }
    }

    #[test]
    fn realtime_signals() {
        assert_eq!(parse_signal("RTMIN"), Ok(34));
        assert_eq!(parse_signal("SIGRTMIN+3"), Ok(37));
        assert_eq!(parse_signal("RTMAX"), Ok(64));
        assert_eq!(parse_signal("rtmax-2"), Ok(62));
        assert_eq!(parse_signal("64"), Ok(64));
        assert!(parse_signal("RTMIN+31").is_err());
        assert!(parse_signal("RTMIN-1").is_err());
        assert!(parse_signal("RTMIN+").is_err());
        assert!(parse_signal("RTMIN++1").is_err());
    }

    #[test]
    fn refusals_name_the_problem() {
        assert_eq!(
            parse_signal("BOGUS"),
            Err(SignalError::Unknown("BOGUS".into()))
        );
        assert_eq!(parse_signal("65"), Err(SignalError::OutOfRange(65)));
        assert_eq!(parse_signal("-1"), Err(SignalError::OutOfRange(-1)));
        assert_eq!(
            parse_signal("99999999999999"),
            Err(SignalError::OutOfRange(99999999999999))
        );
        assert!(parse_signal("")
            .unwrap_err()
            .to_string()
            .starts_with("unknown signal \"\""));
        assert!(parse_signal("SIG").is_err());
    }
}
