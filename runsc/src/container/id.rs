//! Container IDs: what runc accepts, since an ID names a directory under
//! `--root`.

/// An ID becomes a file name, so it is bounded like one.
const MAX_LEN: usize = 255;

#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum InvalidId {
    #[error("the container ID is empty")]
    Empty,
    #[error("invalid container ID {id:?}: {ch:?} is not allowed (use letters, digits, _ + - .)")]
    Character { id: String, ch: char },
    #[error("invalid container ID {0:?}: it cannot be . or ..")]
    Dots(String),
    #[error("invalid container ID: it is longer than {MAX_LEN} characters")]
    TooLong,
}

/// Checks `id` against runc's rules: letters, digits, `_`, `+`, `-` and
/// `.`, and neither `.` nor `..`.
pub fn validate_id(id: &str) -> Result<(), InvalidId> {
    if id.is_empty() {
        return Err(InvalidId::Empty);
    }
    if let Some(ch) = id
        .chars()
        .find(|&c| !(c.is_ascii_alphanumeric() || matches!(c, '_' | '+' | '-' | '.')))
    {
        return Err(InvalidId::Character {
            id: id.to_string(),
            ch,
        });
    }
    if id == "." || id == ".." {
        return Err(InvalidId::Dots(id.to_string()));
    }
    if id.len() > MAX_LEN {
        return Err(InvalidId::TooLong);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepted() {
        for id in [
            "a",
            "abc",
            "ABC_123",
            "my.container",
            "a+b",
            "a-b",
            "...",
            ".hidden",
            "4f2c9a0e1b7d4c8e9a6b3d2f1e0c9b8a7d6e5f4c3b2a1908f7e6d5c4b3a29180",
        ] {
            assert_eq!(validate_id(id), Ok(()), "{id}");
        }
    }

    #[test]
    fn refused() {
        assert_eq!(validate_id(""), Err(InvalidId::Empty));
        assert_eq!(validate_id("."), Err(InvalidId::Dots(".".into())));
        assert_eq!(validate_id(".."), Err(InvalidId::Dots("..".into())));
        for (id, ch) in [
            ("a/b", '/'),
            ("../x", '/'),
            ("a b", ' '),
            ("a,b", ','),
            ("a:b", ':'),
            ("é", 'é'),
            ("a\0", '\0'),
            ("a*", '*'),
        ] {
            assert_eq!(
                validate_id(id),
                Err(InvalidId::Character { id: id.into(), ch }),
                "{id}"
            );
        }
        assert_eq!(validate_id(&"a".repeat(256)), Err(InvalidId::TooLong));
        assert_eq!(validate_id(&"a".repeat(255)), Ok(()));
    }

    #[test]
    fn messages_name_the_id() {
        let text = validate_id("a/b").unwrap_err().to_string();
        assert_eq!(
            text,
            "invalid container ID \"a/b\": '/' is not allowed (use letters, digits, _ + - .)"
        );
    }
}
