//! The error type: one problem in the configuration file, located by file, line, column and key.

use std::fmt;
use std::path::{Path, PathBuf};

/// One problem found in a configuration file.
///
/// `line` and `column` are 1-based (the column counts characters, not bytes). Both are `0` for
/// problems that have no position in the text, such as a file that cannot be read; `column`
/// alone is `0` for a problem on a line of a rate deck CSV file (`file` is then the deck).
///
/// `key` is the dotted path of the offending key, e.g. `sip.listen_udp` or
/// `extension[2].secret`. Indices of arrays of tables (`[[extension]]`, `[[trunk]]`,
/// `time_rules = [...]`) are **1-based**, counted in the order the tables appear in the file
/// (the same number as `[[extension]] #2` in messages). In a rate deck it is the column
/// (`per_minute`). It is empty for errors that concern no key (syntax errors, unreadable file,
/// a deck row with the wrong number of fields).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    pub file: PathBuf,
    pub line: usize,
    pub column: usize,
    pub key: String,
    pub message: String,
}

impl fmt::Display for ConfigError {
    /// Compiler style: `examples/crossbar.toml:14:10: extension[2].secret: must not be empty`;
    /// `rates/carrier-a.csv:17: per_minute: ...` for a line without a column.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:", self.file.display())?;
        if self.line > 0 {
            write!(f, "{}:", self.line)?;
            if self.column > 0 {
                write!(f, "{}:", self.column)?;
            }
        }
        if !self.key.is_empty() {
            write!(f, " {}:", self.key)?;
        }
        write!(f, " {}", self.message)
    }
}

impl std::error::Error for ConfigError {}

/// Every problem found in a configuration file, in file order (by line, then column): the
/// configuration file's own first, then those of each rate deck it names, deck by deck.
///
/// Never empty when returned by [`Config::load`](crate::Config::load) or
/// [`Config::parse`](crate::Config::parse).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigErrors(Vec<ConfigError>);

impl ConfigErrors {
    pub(crate) fn new(mut errors: Vec<ConfigError>) -> Self {
        // Files in the order they first appear; stable: errors at the same position keep the
        // order they were found in.
        let mut files: Vec<PathBuf> = Vec::new();
        for e in &errors {
            if !files.contains(&e.file) {
                files.push(e.file.clone());
            }
        }
        errors.sort_by_key(|e| {
            let file = files.iter().position(|f| *f == e.file);
            (file, e.line, e.column)
        });
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
