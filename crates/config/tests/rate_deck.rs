//! Rate deck CSV files: the format, problems reported at the deck's own lines, how `[[rate]]`
//! entries combine with a deck, and loading a deck of 50,000 rows.

use std::path::PathBuf;
use std::time::Instant;

use crossbar_cdr::{Increment, Money};
use crossbar_config::{Config, ConfigErrors, MAX_DECK_ERRORS};

/// A directory of its own for one test, removed when dropped.
struct Dir(PathBuf);

impl Dir {
    fn new(test: &str) -> Dir {
        let dir =
            std::env::temp_dir().join(format!("crossbar-config-{}-{test}", std::process::id()));
        std::fs::create_dir_all(dir.join("rates")).expect("temporary directory");
        Dir(dir)
    }

    fn write(&self, name: &str, text: &str) -> PathBuf {
        let path = self.0.join(name);
        std::fs::write(&path, text).expect("write a test file");
        path
    }

    /// Writes `crossbar.toml` with one trunk whose deck is `rates/a.csv` (plus `extra`) and
    /// loads it.
    fn load(&self, deck: &str, extra: &str) -> Result<Config, ConfigErrors> {
        self.write("rates/a.csv", deck);
        let config = self.write(
            "crossbar.toml",
            &format!(
                "[site]\ncountry = \"GB\"\n\n[[trunk]]\nname = \"carrier-a\"\naddress = \"127.0.0.1:5070\"\nrates = \"rates/a.csv\"\n{extra}"
            ),
        );
        Config::load(&config)
    }

    fn deck_path(&self) -> String {
        self.0.join("rates/a.csv").display().to_string()
    }
}

impl Drop for Dir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn money(text: &str) -> Money {
    text.parse().expect("a valid amount")
}

#[test]
fn a_deck_with_header_comments_and_optional_columns_loads() {
    let dir = Dir::new("format");
    let deck = "\u{feff}prefix,per_minute,connection_fee,increment\n\
                # United Kingdom\n\
                +441,0.0050,0,60/60\n\
                \n\
                447, 0.0250 ,,30/6\r\n\
                33,0.0150\n\
                \"49\",\"0.018\",\"0.001\",\"1/1\"\n";
    let config = dir.load(deck, "").unwrap_or_else(|e| panic!("{e}"));
    let trunk = &config.trunks[0];
    assert!(trunk.rates_file.as_ref().unwrap().is_absolute());
    assert!(trunk.rates_file.as_ref().unwrap().ends_with("rates/a.csv"));
    let rows: Vec<(&str, Money, Money, Increment)> = trunk
        .rates
        .iter()
        .map(|r| {
            (
                r.prefix.as_str(),
                r.rate.per_minute,
                r.rate.connection_fee,
                r.rate.increment,
            )
        })
        .collect();
    let per = |first_secs, next_secs| Increment {
        first_secs,
        next_secs,
    };
    assert_eq!(
        rows,
        [
            ("441", money("0.005"), Money::ZERO, per(60, 60)),
            ("447", money("0.025"), Money::ZERO, per(30, 6)),
            ("33", money("0.015"), Money::ZERO, per(60, 60)),
            ("49", money("0.018"), money("0.001"), per(1, 1)),
        ]
    );
}

#[test]
fn deck_problems_are_reported_at_the_decks_lines() {
    let dir = Dir::new("errors");
    let deck = "prefix,per_minute\n\
                # line 2: a comment\n\
                +44,0.01\n\
                \n\
                +33,\"0,01\"\n\
                +4x,0.01\n\
                +49\n\
                +1,0.01,0,60\n\
                +34,-0.5\n\
                # line 10\n\
                44,0.02\n\
                +32,0.01,0,60/60,extra\n";
    let errors = dir.load(deck, "").unwrap_err();
    let deck = dir.deck_path();
    let shown: Vec<String> = errors.iter().map(ToString::to_string).collect();
    assert_eq!(
        shown,
        [
            format!(
                "{deck}:5: per_minute: \"0,01\" is not an amount (digits with at most six decimals \
                 and a decimal point, e.g. 0.0125)"
            ),
            format!(
                "{deck}:6: prefix: \"+4x\" is not a prefix: 1 to 15 digits of an E.164 number, \
                 with or without `+` (e.g. +44 or 447)"
            ),
            format!(
                "{deck}:7: expected prefix,per_minute[,connection_fee][,increment], found 1 field"
            ),
            format!(
                "{deck}:8: increment: \"60\" is not a billing increment (first/next seconds, \
                 e.g. 60/60, 30/6, 1/1)"
            ),
            format!("{deck}:9: per_minute: \"-0.5\" is negative: an amount must not be"),
            format!("{deck}:11: prefix: duplicate prefix \"44\": already at line 3"),
            format!(
                "{deck}:12: expected prefix,per_minute[,connection_fee][,increment], found 5 fields"
            ),
        ]
    );
    let first = &errors.errors()[0];
    assert_eq!(
        (first.line, first.column, first.key.as_str()),
        (5, 0, "per_minute")
    );
}

#[test]
fn deck_errors_come_after_the_configuration_files_own() {
    let dir = Dir::new("order");
    let errors = dir
        .load("44,x\n", "max_calls = 0\n")
        .unwrap_err()
        .into_vec();
    assert_eq!(errors.len(), 2, "{errors:#?}");
    assert!(errors[0].file.ends_with("crossbar.toml"));
    assert_eq!(
        (errors[0].line, errors[0].key.as_str()),
        (8, "trunk[1].max_calls")
    );
    assert!(errors[1].file.ends_with("rates/a.csv"));
    assert_eq!(errors[1].line, 1);
}

#[test]
fn a_header_must_name_the_columns_in_order() {
    let dir = Dir::new("header");
    let errors = dir
        .load("prefix,connection_fee,per_minute\n44,0.01\n", "")
        .unwrap_err();
    assert_eq!(
        errors.to_string(),
        format!(
            "{}:1: column 2 of the header is \"connection_fee\": expected the header \
             prefix,per_minute[,connection_fee][,increment] (columns cannot be reordered)",
            dir.deck_path()
        )
    );
}

#[test]
fn a_missing_deck_is_reported_at_the_rates_key() {
    let dir = Dir::new("missing");
    let config = dir.write(
        "crossbar.toml",
        "[site]\ncountry = \"GB\"\n[[trunk]]\nname = \"carrier-a\"\naddress = \"127.0.0.1:5070\"\nrates = \"rates/none.csv\"\n",
    );
    let errors = Config::load(&config).unwrap_err().into_vec();
    assert_eq!(errors.len(), 1, "{errors:#?}");
    assert_eq!(errors[0].file, config);
    assert_eq!(
        (errors[0].line, errors[0].column, errors[0].key.as_str()),
        (6, 9, "trunk[1].rates")
    );
    assert!(
        errors[0].message.starts_with(&format!(
            "cannot read the rate deck `{}`",
            dir.0.join("rates/none.csv").display()
        )),
        "{}",
        errors[0].message
    );
}

#[test]
fn rate_entries_come_after_the_deck_and_replace_its_rate_for_the_same_prefix() {
    let dir = Dir::new("merge");
    let extra = "\n[[rate]]\ntrunk = \"carrier-a\"\nprefix = \"+4480\"\nper_minute = 0\n\
                 [[rate]]\ntrunk = \"carrier-a\"\nprefix = \"+44\"\nper_minute = 0.02\n";
    let config = dir
        .load("44,0.01\n33,0.015\n", extra)
        .unwrap_or_else(|e| panic!("{e}"));
    let rows: Vec<(&str, Money)> = config.trunks[0]
        .rates
        .iter()
        .map(|r| (r.prefix.as_str(), r.rate.per_minute))
        .collect();
    assert_eq!(
        rows,
        [
            ("44", money("0.02")),
            ("33", money("0.015")),
            ("4480", Money::ZERO)
        ]
    );
}

#[test]
fn a_deck_full_of_mistakes_reports_the_first_ones_and_counts_the_rest() {
    let dir = Dir::new("many");
    let deck: String = (0..100).map(|i| format!("{i},oops\n")).collect();
    let errors = dir.load(&deck, "").unwrap_err().into_vec();
    assert_eq!(errors.len(), MAX_DECK_ERRORS + 1);
    assert_eq!(errors[MAX_DECK_ERRORS - 1].line, MAX_DECK_ERRORS);
    let last = errors.last().unwrap();
    assert_eq!(last.line, 100);
    assert_eq!(
        last.message,
        format!(
            "{} more problems in this rate deck not shown",
            100 - MAX_DECK_ERRORS
        )
    );
}

#[test]
fn a_deck_of_fifty_thousand_rows_loads_quickly() {
    let dir = Dir::new("large");
    let mut deck = String::from("prefix,per_minute,connection_fee,increment\n");
    for i in 0..50_000u32 {
        // Distinct prefixes of 6-7 digits with varied prices, as a carrier's full deck has.
        deck.push_str(&format!(
            "+{},{}.{:04},0,{}\n",
            100_000 + i * 7,
            i % 3,
            i % 10_000,
            if i % 2 == 0 { "60/60" } else { "1/1" }
        ));
    }
    let started = Instant::now();
    let config = dir.load(&deck, "").unwrap_or_else(|e| panic!("{e}"));
    let elapsed = started.elapsed();
    assert_eq!(config.trunks[0].rates.len(), 50_000);
    assert_eq!(
        config.trunks[0].rates[49_999].prefix,
        (100_000 + 49_999 * 7).to_string()
    );
    eprintln!("50,000-row rate deck loaded in {elapsed:?}");
    // Generous for an unoptimised build on a busy machine; a quadratic step would take minutes.
    assert!(
        elapsed.as_secs() < 10,
        "loading 50,000 rows took {elapsed:?}"
    );
}

#[test]
fn relative_deck_paths_resolve_against_the_configuration_files_directory() {
    let dir = Dir::new("relative");
    dir.write("rates/a.csv", "44,0.01\n");
    let text = "[site]\ncountry = \"GB\"\n[[trunk]]\nname = \"a\"\naddress = \"127.0.0.1\"\nrates = \"rates/a.csv\"\n";
    // Parsed as if the file were in `dir`, wherever the test runs from.
    let config =
        Config::parse(text, &dir.0.join("crossbar.toml")).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(config.trunks[0].rates.len(), 1);
    assert_eq!(
        config.trunks[0].rates_file.as_deref(),
        Some(dir.0.join("rates/a.csv").as_path())
    );
}
