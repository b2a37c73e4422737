//! What trunks charge: `[[rate]]` entries in the configuration file and rate deck CSV files
//! (`rates = "rates/carrier-a.csv"` in a `[[trunk]]`).
//!
//! A rate deck has one rate a row, `prefix,per_minute[,connection_fee][,increment]`:
//!
//! ```text
//! # carrier-a, GBP
//! prefix,per_minute,connection_fee,increment
//! +44,0.0100,0,60/60
//! 447,0.0450,,30/6
//! ```
//!
//! An optional header line (first field `prefix`) names the columns in that order; `#`
//! comment lines and blank lines are skipped; fields are trimmed; an empty `connection_fee`
//! is 0 and an empty `increment` is `60/60`. Prefixes are E.164 digits with or without `+`
//! and are kept without it; a prefix may appear once per deck. Problems are reported at the
//! deck's own lines (`rates/carrier-a.csv:17: per_minute: ...`), at most
//! [`MAX_DECK_ERRORS`] per deck.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use crossbar_cdr::{Increment, Money, Rate};
use toml::Spanned;
use toml::de::DeValue;

use crate::load::{Loader, Section, closest, table_array};
use crate::number::{PREFIX_RULE, rate_prefix};
use crate::trunk::{RateRow, Trunk};

pub(crate) const KEYS: &[&str] = &[
    "trunk",
    "prefix",
    "per_minute",
    "connection_fee",
    "increment",
];

/// The columns of a rate deck, in order; the first two are required.
pub const DECK_COLUMNS: [&str; 4] = ["prefix", "per_minute", "connection_fee", "increment"];

/// Problems reported for one rate deck before the rest are only counted.
pub const MAX_DECK_ERRORS: usize = 20;

/// A `[[rate]]` entry: the trunk it is for and the rate.
pub(crate) struct RateEntry {
    pub trunk: String,
    pub row: RateRow,
}

/// Every valid `[[rate]]` (each must name a trunk in `trunk_names`), and the trunks named by
/// any of them, valid or not.
pub(crate) fn parse_all(
    ld: &mut Loader<'_>,
    value: &Spanned<DeValue<'_>>,
    trunk_names: &[String],
) -> (Vec<RateEntry>, Vec<String>) {
    let mut entries = Vec::new();
    let mut named: Vec<String> = Vec::new();
    for section in table_array(ld, "rate", value) {
        let (trunk, entry) = parse_one(ld, &section, trunk_names);
        if let Some(trunk) = trunk
            && !named.contains(&trunk)
        {
            named.push(trunk);
        }
        entries.extend(entry);
    }
    (entries, named)
}

fn parse_one(
    ld: &mut Loader<'_>,
    section: &Section<'_, '_>,
    trunk_names: &[String],
) -> (Option<String>, Option<RateEntry>) {
    let errors_before = ld.error_count();
    section.reject_unknown_keys(ld, KEYS);
    section.require(ld, "trunk");
    section.require(ld, "prefix");
    section.require(ld, "per_minute");
    let trunk = section.string(ld, "trunk").and_then(|trunk| {
        if trunk_names.iter().any(|t| t == trunk.value) {
            Some(trunk.value.to_owned())
        } else {
            ld.error(
                &trunk.span,
                &section.key("trunk"),
                no_such_trunk(trunk.value, trunk_names),
            );
            None
        }
    });
    let prefix = section.string(ld, "prefix").and_then(|prefix| {
        let digits = rate_prefix(prefix.value);
        if digits.is_none() {
            ld.error(
                &prefix.span,
                &section.key("prefix"),
                format!("`{}` is not a prefix: {PREFIX_RULE}", prefix.value),
            );
        }
        digits
    });
    let per_minute = section.money(ld, "per_minute");
    let connection_fee = section
        .money(ld, "connection_fee")
        .map_or(Money::ZERO, |fee| fee.value);
    let increment = match section.string(ld, "increment") {
        Some(text) => match text.value.parse::<Increment>() {
            Ok(increment) => increment,
            Err(e) => {
                ld.error(&text.span, &section.key("increment"), e.to_string());
                Increment::PER_MINUTE
            }
        },
        None => Increment::PER_MINUTE,
    };
    let entry = match (&trunk, prefix, per_minute) {
        (Some(trunk), Some(prefix), Some(per_minute)) if ld.error_count() == errors_before => {
            Some(RateEntry {
                trunk: trunk.clone(),
                row: RateRow {
                    prefix,
                    rate: Rate {
                        per_minute: per_minute.value,
                        connection_fee,
                        increment,
                    },
                },
            })
        }
        _ => None,
    };
    (trunk, entry)
}

/// "no trunk named `carier-a`; trunks: carrier-a, carrier-b (did you mean `carrier-a`?)".
pub(crate) fn no_such_trunk(name: &str, trunk_names: &[String]) -> String {
    let names: Vec<&str> = trunk_names.iter().map(String::as_str).collect();
    let mut message = if names.is_empty() {
        format!("no trunk named `{name}`: there is no [[trunk]]")
    } else {
        format!("no trunk named `{name}`; trunks: {}", names.join(", "))
    };
    if let Some(suggestion) = closest(name, &names) {
        message.push_str(&format!(" (did you mean `{suggestion}`?)"));
    }
    message
}

/// Adds the `[[rate]]` entries to their trunks' rates, after the deck's rows: an entry for a
/// prefix the trunk already has replaces that rate (in place).
pub(crate) fn merge(trunks: &mut [Trunk], entries: Vec<RateEntry>) {
    let mut index: HashMap<String, HashMap<String, usize>> = HashMap::new();
    for entry in entries {
        let Some(trunk) = trunks.iter_mut().find(|t| t.name == entry.trunk) else {
            // The trunk had problems of its own (already reported).
            continue;
        };
        let prefixes = index.entry(entry.trunk).or_insert_with(|| {
            trunk
                .rates
                .iter()
                .enumerate()
                .map(|(i, row)| (row.prefix.clone(), i))
                .collect()
        });
        match prefixes.get(&entry.row.prefix) {
            Some(&i) => trunk.rates[i] = entry.row,
            None => {
                prefixes.insert(entry.row.prefix.clone(), trunk.rates.len());
                trunk.rates.push(entry.row);
            }
        }
    }
}

/// Reads the rate deck `file` (relative to the configuration file's directory) and returns
/// its absolute path and rows. Problems in rows are recorded in `ld` at the deck's lines;
/// `Err` (to be reported at the `rates` key) only if the file cannot be read.
pub(crate) fn load_deck(
    ld: &mut Loader<'_>,
    file: &str,
) -> Result<(PathBuf, Vec<RateRow>), String> {
    if file.trim().is_empty() {
        return Err("must not be empty (the path of a rate deck CSV file)".to_owned());
    }
    let path = ld.resolve(Path::new(file));
    let bytes = std::fs::read(&path)
        .map_err(|e| format!("cannot read the rate deck `{}`: {e}", path.display()))?;
    let rows = parse_deck(ld, &path, &bytes);
    let absolute = std::path::absolute(&path).unwrap_or(path);
    Ok((absolute, rows))
}

/// The rows of a rate deck; problems are recorded in `ld` against `path` and its lines.
pub(crate) fn parse_deck(ld: &mut Loader<'_>, path: &Path, bytes: &[u8]) -> Vec<RateRow> {
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .comment(Some(b'#'))
        .trim(csv::Trim::All)
        .from_reader(bytes);
    let lines = DeckLines::new(bytes);
    let mut problems = DeckProblems {
        path,
        reported: 0,
        more: 0,
        last_line: 0,
    };
    let mut rows: Vec<RateRow> = Vec::with_capacity(lines.starts.len());
    // The line each prefix was first written on, keyed by its digits as a number and its
    // length (a prefix has at most 15 digits, so this is exact and needs no allocation).
    let mut first_lines: HashMap<(u8, u64), u64> = HashMap::with_capacity(lines.starts.len());
    let mut record = csv::StringRecord::new();
    let mut first_record = true;
    loop {
        match reader.read_record(&mut record) {
            Ok(true) => {}
            Ok(false) => break,
            Err(e) => {
                let line = e
                    .position()
                    .map_or(problems.last_line + 1, |p| lines.line_of_record(p.byte()));
                let message = match e.kind() {
                    csv::ErrorKind::Utf8 { .. } => "the line is not valid UTF-8".to_owned(),
                    _ => e.to_string(),
                };
                problems.report(ld, line, "", message);
                if e.position().is_none() {
                    break;
                }
                continue;
            }
        }
        let line = record
            .position()
            .map_or(problems.last_line + 1, |p| lines.line_of_record(p.byte()));
        problems.last_line = line;
        if record.iter().all(str::is_empty) {
            continue;
        }
        let is_header = first_record
            && record.get(0).is_some_and(|f| {
                f.trim_start_matches('\u{feff}')
                    .eq_ignore_ascii_case("prefix")
            });
        first_record = false;
        if is_header {
            check_header(ld, &mut problems, line, &record);
            continue;
        }
        if !(2..=DECK_COLUMNS.len()).contains(&record.len()) {
            problems.report(
                ld,
                line,
                "",
                format!(
                    "expected prefix,per_minute[,connection_fee][,increment], found {} field{}",
                    record.len(),
                    if record.len() == 1 { "" } else { "s" }
                ),
            );
            continue;
        }
        let field = |i: usize| record.get(i).unwrap_or("");
        let errors_before = problems.total();
        let prefix = rate_prefix(field(0).trim_start_matches('\u{feff}'));
        if prefix.is_none() {
            problems.report(
                ld,
                line,
                "prefix",
                format!("\"{}\" is not a prefix: {PREFIX_RULE}", field(0)),
            );
        }
        let mut amount = |ld: &mut Loader<'_>, column: usize, default: Option<Money>| {
            let text = field(column);
            if text.is_empty()
                && let Some(default) = default
            {
                return Some(default);
            }
            match text.parse::<Money>() {
                Ok(money) if money < Money::ZERO => {
                    problems.report(
                        ld,
                        line,
                        DECK_COLUMNS[column],
                        format!("\"{text}\" is negative: an amount must not be"),
                    );
                    None
                }
                Ok(money) => Some(money),
                Err(_) => {
                    problems.report(
                        ld,
                        line,
                        DECK_COLUMNS[column],
                        format!(
                            "\"{text}\" is not an amount (digits with at most six decimals and \
                             a decimal point, e.g. 0.0125)"
                        ),
                    );
                    None
                }
            }
        };
        let per_minute = amount(ld, 1, None);
        let connection_fee = amount(ld, 2, Some(Money::ZERO));
        let increment = match field(3) {
            "" => Some(Increment::PER_MINUTE),
            text => match text.parse::<Increment>() {
                Ok(increment) => Some(increment),
                Err(_) => {
                    problems.report(
                        ld,
                        line,
                        "increment",
                        format!(
                            "\"{text}\" is not a billing increment (first/next seconds, e.g. \
                             60/60, 30/6, 1/1)"
                        ),
                    );
                    None
                }
            },
        };
        if problems.total() != errors_before {
            continue;
        }
        let (Some(prefix), Some(per_minute), Some(connection_fee), Some(increment)) =
            (prefix, per_minute, connection_fee, increment)
        else {
            continue;
        };
        let key = (
            u8::try_from(prefix.len()).expect("a prefix has at most 15 digits"),
            prefix
                .parse::<u64>()
                .expect("a prefix is at most 15 digits"),
        );
        if let Some(first) = first_lines.get(&key) {
            problems.report(
                ld,
                line,
                "prefix",
                format!("duplicate prefix \"{}\": already at line {first}", field(0)),
            );
            continue;
        }
        first_lines.insert(key, line);
        rows.push(RateRow {
            prefix,
            rate: Rate {
                per_minute,
                connection_fee,
                increment,
            },
        });
    }
    problems.finish(ld);
    rows
}

/// A header must name the columns in order: `prefix,per_minute[,connection_fee][,increment]`.
fn check_header(
    ld: &mut Loader<'_>,
    problems: &mut DeckProblems<'_>,
    line: u64,
    record: &csv::StringRecord,
) {
    let expected = "expected the header prefix,per_minute[,connection_fee][,increment]";
    if record.len() < 2 || record.len() > DECK_COLUMNS.len() {
        problems.report(
            ld,
            line,
            "",
            format!("{expected}, found {} columns", record.len()),
        );
        return;
    }
    for (i, name) in record.iter().enumerate() {
        let name = name.trim_start_matches('\u{feff}');
        if !name.eq_ignore_ascii_case(DECK_COLUMNS[i]) {
            problems.report(
                ld,
                line,
                "",
                format!(
                    "column {} of the header is \"{name}\": {expected} (columns cannot be \
                     reordered)",
                    i + 1
                ),
            );
            return;
        }
    }
}

/// Line numbers of a deck's records.
///
/// The `csv` reader's record position is where it started reading, which is before the blank
/// and `#` comment lines it skipped (and its line count is off with CRLF line ends), so the
/// line is found from that byte offset by skipping the same lines.
struct DeckLines<'b> {
    bytes: &'b [u8],
    /// Byte offset of the start of each line.
    starts: Vec<usize>,
}

impl<'b> DeckLines<'b> {
    fn new(bytes: &'b [u8]) -> Self {
        let starts = std::iter::once(0)
            .chain(
                bytes
                    .iter()
                    .enumerate()
                    .filter(|(_, b)| **b == b'\n')
                    .map(|(i, _)| i + 1),
            )
            .collect();
        DeckLines { bytes, starts }
    }

    /// The 1-based line of the record the reader started reading at byte `start`.
    fn line_of_record(&self, start: u64) -> u64 {
        let start = usize::try_from(start)
            .unwrap_or(usize::MAX)
            .min(self.bytes.len());
        let mut index = match self.starts.binary_search(&start) {
            Ok(i) => i,
            Err(i) => i.saturating_sub(1),
        };
        // The reader may start in the middle of a line (after the `\r` of a `\r\n`).
        while let Some(&line_start) = self.starts.get(index) {
            let end = self
                .starts
                .get(index + 1)
                .map_or(self.bytes.len(), |&next| next);
            let rest = &self.bytes[line_start.max(start)..end];
            let content = rest.strip_suffix(b"\n").unwrap_or(rest);
            let content = content.strip_suffix(b"\r").unwrap_or(content);
            let skipped = !rest.is_empty() && (content.is_empty() || content[0] == b'#');
            if !skipped {
                break;
            }
            index += 1;
        }
        u64::try_from(index + 1).unwrap_or(u64::MAX)
    }
}

/// Counts a deck's problems and reports the first [`MAX_DECK_ERRORS`] of them.
struct DeckProblems<'p> {
    path: &'p Path,
    reported: usize,
    more: usize,
    last_line: u64,
}

impl DeckProblems<'_> {
    fn report(&mut self, ld: &mut Loader<'_>, line: u64, key: &str, message: String) {
        if self.reported < MAX_DECK_ERRORS {
            let line = usize::try_from(line).unwrap_or(usize::MAX);
            ld.error_in(self.path, line, key, message);
            self.reported += 1;
        } else {
            self.more += 1;
        }
    }

    fn total(&self) -> usize {
        self.reported + self.more
    }

    fn finish(&self, ld: &mut Loader<'_>) {
        if self.more > 0 {
            ld.error_in(
                self.path,
                usize::try_from(self.last_line).unwrap_or(usize::MAX),
                "",
                format!(
                    "{} more problem{} in this rate deck not shown",
                    self.more,
                    if self.more == 1 { "" } else { "s" }
                ),
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The line of each record the `csv` reader returns, as `parse_deck` computes it.
    fn record_lines(text: &str) -> Vec<(String, u64)> {
        let lines = DeckLines::new(text.as_bytes());
        let mut reader = csv::ReaderBuilder::new()
            .has_headers(false)
            .flexible(true)
            .comment(Some(b'#'))
            .from_reader(text.as_bytes());
        let mut record = csv::StringRecord::new();
        let mut out = Vec::new();
        while reader.read_record(&mut record).expect("valid CSV") {
            let start = record.position().expect("records have positions").byte();
            out.push((record[0].to_owned(), lines.line_of_record(start)));
        }
        out
    }

    #[test]
    fn record_lines_skip_comments_and_blank_lines_with_any_line_end() {
        let expected = |pairs: &[(&str, u64)]| -> Vec<(String, u64)> {
            pairs.iter().map(|(f, l)| ((*f).to_owned(), *l)).collect()
        };
        assert_eq!(
            record_lines("a,1\n# c\nb,2\nc,3\n"),
            expected(&[("a", 1), ("b", 3), ("c", 4)])
        );
        assert_eq!(
            record_lines("# c\n\na,1\n\n\nb,2\n# x\n# y\nc,3"),
            expected(&[("a", 3), ("b", 6), ("c", 9)])
        );
        assert_eq!(
            record_lines("a,1\r\n# c\r\n\r\nb,2\r\n"),
            expected(&[("a", 1), ("b", 4)])
        );
        // A quoted field may hold a line end: the next record is on the line after it.
        assert_eq!(
            record_lines("\"a\nb\",1\nc,2\n"),
            expected(&[("a\nb", 1), ("c", 3)])
        );
    }
}
