//! Argument splitting and joining (PROTOCOL.md section 3).
//!
//! `data` holds `argument_count` arguments separated by single spaces; the
//! first `argument_count - 1` are non-empty and hold no space, the last takes
//! the rest of the data and may hold spaces (human-readable reasons).

/// Why `data` does not hold the arguments its header announced.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ArgError {
    /// `argument_count` 0 with data present.
    #[error("argument_count 0 but data_size {0}")]
    DataWithoutArguments(usize),
    /// Fewer space-separated fields than `argument_count`.
    #[error("argument_count {expected} but the data holds {found} arguments")]
    TooFew {
        /// Announced by the header.
        expected: u16,
        /// Found in the data.
        found: usize,
    },
    /// An argument is empty (two spaces in a row, or a space at an end).
    #[error("argument {} is empty", .0 + 1)]
    Empty(usize),
    /// The data is not UTF-8.
    #[error("data is not UTF-8 at byte {0}")]
    NotUtf8(usize),
    /// While joining: an argument other than the last holds a space.
    #[error("argument {} holds a space; only the last one may", .0 + 1)]
    SpaceInArgument(usize),
    /// While joining: the arguments do not fit one frame.
    #[error("arguments take {} bytes, over the {}-byte limit", .0, crate::MAX_DATA)]
    TooLong(usize),
}

/// Splits `data` into exactly `count` arguments.
pub fn split(data: &[u8], count: u16) -> Result<Vec<&str>, ArgError> {
    if count == 0 {
        return if data.is_empty() {
            Ok(Vec::new())
        } else {
            Err(ArgError::DataWithoutArguments(data.len()))
        };
    }
    let text = std::str::from_utf8(data).map_err(|e| ArgError::NotUtf8(e.valid_up_to()))?;
    let args: Vec<&str> = text.splitn(count as usize, ' ').collect();
    if args.len() < count as usize {
        return Err(ArgError::TooFew {
            expected: count,
            found: args.len(),
        });
    }
    if let Some(i) = args.iter().position(|a| a.is_empty()) {
        return Err(ArgError::Empty(i));
    }
    Ok(args)
}

/// Splits `data` holding any number of arguments (address lists), all of
/// them free of spaces.
pub fn split_all(data: &[u8], count: u16) -> Result<Vec<&str>, ArgError> {
    let args = split(data, count)?;
    if let Some(last) = args.last()
        && last.contains(' ')
    {
        let found = args.len() + last.split(' ').count() - 1;
        return Err(ArgError::TooFew {
            expected: count,
            found,
        });
    }
    Ok(args)
}

/// Joins arguments into frame data and returns it with its count.
pub fn join<S: AsRef<str>>(args: &[S]) -> Result<(u16, Vec<u8>), ArgError> {
    let mut data = Vec::new();
    for (i, arg) in args.iter().enumerate() {
        let arg = arg.as_ref();
        if arg.is_empty() {
            return Err(ArgError::Empty(i));
        }
        if i + 1 < args.len() && arg.contains(' ') {
            return Err(ArgError::SpaceInArgument(i));
        }
        if i > 0 {
            data.push(b' ');
        }
        data.extend_from_slice(arg.as_bytes());
    }
    if data.len() > crate::MAX_DATA {
        return Err(ArgError::TooLong(data.len()));
    }
    let count = u16::try_from(args.len()).map_err(|_| ArgError::TooLong(data.len()))?;
    Ok((count, data))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn last_argument_takes_the_rest() {
        let args = split(b"insufficient-funds cash 120.5000 is low", 1).expect("one reason");
        assert_eq!(args, ["insufficient-funds cash 120.5000 is low"]);
        let args = split(b"17 AAPL 10 189.5000 1732147205", 5).expect("five");
        assert_eq!(args, ["17", "AAPL", "10", "189.5000", "1732147205"]);
    }

    #[test]
    fn count_not_matching_data_is_rejected() {
        assert_eq!(
            split(b"alice secret", 3),
            Err(ArgError::TooFew {
                expected: 3,
                found: 2
            })
        );
        assert_eq!(split(b"x", 0), Err(ArgError::DataWithoutArguments(1)));
        assert_eq!(split(b"", 1), Err(ArgError::Empty(0)));
        assert_eq!(split(b"a  b", 3), Err(ArgError::Empty(1)));
        assert_eq!(split(b"a ", 2), Err(ArgError::Empty(1)));
        assert_eq!(split(b"\xff", 1), Err(ArgError::NotUtf8(0)));
        assert_eq!(split(b"", 0), Ok(vec![]));
        assert_eq!(
            split(b"a b c", 2).expect("last takes rest"),
            ["a", "b c"],
            "more spaces than arguments just lengthen the last"
        );
    }

    #[test]
    fn address_lists_hold_no_spaces() {
        assert_eq!(split_all(b"a:1 b:2", 2).expect("two"), ["a:1", "b:2"]);
        assert_eq!(
            split_all(b"a:1 b:2 c:3", 2),
            Err(ArgError::TooFew {
                expected: 2,
                found: 3
            })
        );
    }

    #[test]
    fn join_checks_shape() {
        assert_eq!(
            join(&["alice", "pw", "false"]),
            Ok((3, b"alice pw false".to_vec()))
        );
        assert_eq!(
            join(&["bad-session", "no such session"]).map(|j| j.0),
            Ok(2)
        );
        assert_eq!(join(&["a b", "c"]), Err(ArgError::SpaceInArgument(0)));
        assert_eq!(join(&["a", ""]), Err(ArgError::Empty(1)));
        assert_eq!(join::<&str>(&[]), Ok((0, Vec::new())));
    }
}
