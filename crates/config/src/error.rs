//! The error type: one problem in the configuration file, located by file, line, column and key.

use std::fmt;
use std::path::{Path, PathBuf};

/// One problem found in a configuration file.
///
/// `line` and `column` are 1-based (the column counts characters, not bytes). They are `0` only
/// for problems that have no position in the text, such as a file that cannot be read.
///
/// `key` is the dotted path of the offending key, e.g. `sip.listen_udp` or
/// `extension[2].secret`. Indices of `[[extension]]` tables are **1-based**, counted in the
/// order the tables appear in the file (the same number as `[[extension]] #2` in messages). It
/// is empty for errors that concern no key (syntax errors, unreadable file).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    pub file: PathBuf,
    pub line: usize,
    pub column: usize,
    pub key: String,
    pub message: String,
}

impl fmt::Display for ConfigError {
    /// Compiler style: `examples/crossbar.toml:14:10: extension[2].secret: must not be empty`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:", self.file.display())?;
        if self.line > 0 {
            write!(f, "{}:{}:", self.line, self.column)?;
        }
        if !self.key.is_empty() {
            write!(f, " {}:", self.key)?;
        }
        write!(f, " {}", self.message)
    }
}

impl std::error::Error for ConfigError {}

/// Every problem found in a configuration file, in file order (by line, then column).
///
/// Never empty when returned by [`Config::load`](crate::Config::load) or
/// [`Config::parse`](crate::Config::parse).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigErrors(Vec<ConfigError>);

impl ConfigErrors {
    pub(crate) fn new(mut errors: Vec<ConfigError>) -> Self {
        // Stable: errors at the same position keep the order they were found in.
        errors.sort_by_key(|e| (e.line, e.column));
        ConfigErrors(errors)
    }

    pub(crate) fn single(file: &Path, message: String) -> Self {
        ConfigErrors(vec![ConfigError {
            file: file.to_path_buf(),
            line: 0,
            column: 0,
            key: String::new(),
            message,
        }])
    }

    pub fn errors(&self) -> &[ConfigError] {
        &self.0
    }

    pub fn iter(&self) -> std::slice::Iter<'_, ConfigError> {
        self.0.iter()
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn into_vec(self) -> Vec<ConfigError> {
        self.0
    }
}

impl fmt::Display for ConfigErrors {
    /// One error per line, no trailing newline.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, error) in self.0.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            write!(f, "{error}")?;
        }
        Ok(())
    }
}

impl std::error::Error for ConfigErrors {}

impl IntoIterator for ConfigErrors {
    type Item = ConfigError;
    type IntoIter = std::vec::IntoIter<ConfigError>;
    fn into_iter(self) -> Self::IntoIter {
        self.0.into_iter()
    }
}

impl<'a> IntoIterator for &'a ConfigErrors {
    type Item = &'a ConfigError;
    type IntoIter = std::slice::Iter<'a, ConfigError>;
    fn into_iter(self) -> Self::IntoIter {
        self.0.iter()
    }
}
