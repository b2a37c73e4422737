//! Typed parse errors.

/// Why a body is not an SDP session description crossbar accepts.
///
/// `line` is 1-based and counts every line of the body (blank ones included); it is `0` when
/// the problem is not tied to one line (an empty body).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("SDP line {line}: {reason}")]
pub struct SdpError {
    pub line: usize,
    pub reason: SdpErrorReason,
}

/// The reason part of an [`SdpError`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SdpErrorReason {
    /// The body holds no line at all.
    #[error("empty session description")]
    Empty,
    /// RFC 8866 §5: the first line must be `v=`.
    #[error("the first line is not v=")]
    MissingVersion,
    /// RFC 8866 §5.2: `o=` is mandatory.
    #[error("missing o= line")]
    MissingOrigin,
    /// The line is not `<letter>=<value>`.
    #[error("line is not <type>=<value>")]
    Malformed,
    /// RFC 8866 §5: "An SDP parser MUST completely ignore any session description that
    /// contains a type letter that it does not understand" — crossbar rejects it.
    #[error("unknown line type {0:?}")]
    UnknownType(char),
    /// A line that may appear once per section appeared twice.
    #[error("duplicate {0}= line")]
    Duplicate(char),
    /// A line where RFC 8866 §5 does not allow it (a session-level line after `m=`, `r=`
    /// before any `t=`, a second `v=`).
    #[error("{0}= line not allowed here")]
    Misplaced(char),
    /// A field of a known line is missing or malformed.
    #[error("bad {field} in {line_type}= line")]
    BadField {
        line_type: char,
        field: &'static str,
    },
}
