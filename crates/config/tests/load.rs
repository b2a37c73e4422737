//! Loading whole configuration texts: defaults, the example file, and where each kind of
//! problem is reported.
//!
//! `examples/crossbar.toml` plays prompts from `prompts/en/` at the repository root, which
//! setup generates (`scripts/prompts.sh`); the tests that load it first write a placeholder for
//! each one missing ([`support::example_prompts`]).

mod support;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use crossbar_config::{
    Config, ConfigError, Database, Destination, DidSource, DigestAlgorithm, Holiday, NumberPattern,
    PromptRef, RingStrategy,
};

const FILE: &str = "/etc/crossbar/crossbar.toml";

fn parse(text: &str) -> Result<Config, Vec<ConfigError>> {
    Config::parse(text, Path::new(FILE)).map_err(|e| e.into_vec())
}

fn ok(text: &str) -> Config {
    match parse(text) {
        Ok(config) => config,
        Err(errors) => panic!("expected a valid config, got:\n{errors:#?}"),
    }
}

/// `(line, key, message)` of every error, in the order reported.
fn errors(text: &str) -> Vec<(usize, String, String)> {
    match parse(text) {
        Ok(config) => panic!("expected errors, got {config:#?}"),
        Err(errors) => errors
            .into_iter()
            .map(|e| {
                assert_eq!(e.file, PathBuf::from(FILE));
                (e.line, e.key, e.message)
            })
            .collect(),
    }
}

/// Exactly one error; returns its line, key and message.
fn one_error(text: &str) -> (usize, String, String) {
    let mut all = errors(text);
    assert_eq!(all.len(), 1, "expected exactly one error, got {all:#?}");
    all.remove(0)
}

fn addr(s: &str) -> SocketAddr {
    s.parse().unwrap()
}

const ALICE: &str = "[[extension]]\nnumber = \"201\"\nsecret = \"correct-horse\"\n";

#[test]
fn the_example_file_loads() {
    support::example_prompts();
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let config =
        Config::load(&root.join("examples/crossbar.toml")).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(config.sip.listen_udp, vec![addr("0.0.0.0:5060")]);
    assert_eq!(config.sip.listen_tcp, vec![addr("0.0.0.0:5060")]);
    assert_eq!(config.http.listen, Some(addr("127.0.0.1:8080")));
    let numbers: Vec<&str> = config
        .extensions
        .iter()
        .map(|e| e.number.as_str())
        .collect();
    assert_eq!(numbers, ["201", "202", "203"]);
    assert_eq!(
        config.extension("202").unwrap().name.as_deref(),
        Some("Bob")
    );
    assert_eq!(config.extension("201").unwrap().max_contacts, 5);
    assert_eq!(config.extension("203").unwrap().max_contacts, 10);
    // `sqlite://../var/crossbar.db` next to examples/ is var/crossbar.db at the repository root.
    let expected = std::path::absolute(root.join("examples/../var/crossbar.db")).unwrap();
    assert_eq!(config.database, Database::Sqlite { path: expected });
    assert_eq!(config.site.country.unwrap().as_str(), "GB");
    assert_eq!(config.site.timezone.unwrap().as_str(), "Europe/London");
}

#[test]
fn an_empty_file_resolves_every_default() {
    let config = ok("");
    assert_eq!(config.sip.listen_udp, vec![addr("0.0.0.0:5060")]);
    assert_eq!(config.sip.listen_tcp, vec![addr("0.0.0.0:5060")]);
    assert_eq!(config.sip.domain, None);
    assert_eq!(config.sip.realm, "crossbar");
    assert_eq!(config.sip.user_agent, "crossbar");
    assert_eq!(config.registrar.min_expires, 60);
    assert_eq!(config.registrar.max_expires, 3600);
    assert_eq!(config.registrar.default_expires, 3600);
    assert_eq!(config.registrar.max_contacts, 10);
    assert_eq!(config.auth.algorithms, [DigestAlgorithm::Md5]);
    assert_eq!(config.auth.nonce_lifetime_secs, 300);
    assert_eq!(
        config.database,
        Database::Sqlite {
            path: PathBuf::from("/etc/crossbar/var/crossbar.db")
        }
    );
    assert_eq!(config.http.listen, None);
    assert_eq!(config.log.level, "info");
    assert!(config.site.country.is_none() && config.site.timezone.is_none());
    assert!(config.extensions.is_empty());
}

#[test]
fn listen_tcp_defaults_to_listen_udp_and_an_empty_list_disables_it() {
    let config = ok("[sip]\nlisten_udp = [\"127.0.0.1:5070\", \"[::1]:5070\"]\n");
    assert_eq!(config.sip.listen_tcp, config.sip.listen_udp);
    assert_eq!(config.sip.listen_udp.len(), 2);
    let config = ok("[sip]\nlisten_tcp = []\n");
    assert!(config.sip.listen_tcp.is_empty());
    assert_eq!(config.sip.listen_udp, vec![addr("0.0.0.0:5060")]);
}

#[test]
fn realm_defaults_to_the_domain() {
    let config = ok("[sip]\ndomain = \"pbx.example.com\"\n");
    assert_eq!(config.sip.domain.as_deref(), Some("pbx.example.com"));
    assert_eq!(config.sip.realm, "pbx.example.com");
    let config = ok("[sip]\ndomain = \"pbx.example.com\"\nrealm = \"office\"\n");
    assert_eq!(config.sip.realm, "office");
}

#[test]
fn an_extension_without_max_contacts_inherits_the_registrars() {
    let config = ok(&format!("[registrar]\nmax_contacts = 3\n{ALICE}"));
    let alice = config.extension("201").unwrap();
    assert_eq!(alice.max_contacts, 3);
    assert_eq!(alice.secret.expose(), "correct-horse");
    assert!(config.extension("999").is_none());
}

#[test]
fn extensions_may_be_written_as_an_inline_array() {
    let config = ok("extension = [{ number = \"201\", secret = \"correct-horse\" }]\n");
    assert_eq!(config.extensions.len(), 1);
}

#[test]
fn missing_required_keys_are_reported_at_the_table_header() {
    let text = "[sip]\n\n[[extension]]\nnumber = \"201\"\nsecret = \"correct-horse\"\n\n[[extension]]\nname = \"Bob\"\n";
    let all = errors(text);
    assert_eq!(all.len(), 2, "{all:#?}");
    assert_eq!(all[0].0, 7);
    assert_eq!(all[0].1, "extension[2].number");
    assert!(
        all[0]
            .2
            .contains("missing required key `number` in [[extension]] #2")
    );
    assert_eq!(all[1].0, 7);
    assert_eq!(all[1].1, "extension[2].secret");
}

#[test]
fn a_wrong_type_is_reported_at_the_value() {
    let (line, key, message) = one_error("[registrar]\n\nmin_expires = \"60\"\n");
    assert_eq!((line, key.as_str()), (3, "registrar.min_expires"));
    assert_eq!(message, "expected an integer, found a string");

    let (line, key, message) =
        one_error("[[extension]]\nnumber = 201\nsecret = \"correct-horse\"\n");
    assert_eq!((line, key.as_str()), (2, "extension[1].number"));
    assert_eq!(message, "expected a string, found an integer");

    let (line, key, _) = one_error("[sip]\nlisten_udp = \"0.0.0.0:5060\"\n");
    assert_eq!((line, key.as_str()), (2, "sip.listen_udp"));

    let (line, key, message) = one_error("sip = 5\n");
    assert_eq!((line, key.as_str()), (1, "sip"));
    assert!(message.contains("expected a table"), "{message}");
}

#[test]
fn a_duplicate_extension_number_is_reported_at_the_second_naming_the_first() {
    let text = format!("{ALICE}\n[[extension]]\nnumber = \"201\"\nsecret = \"another-secret\"\n");
    let (line, key, message) = one_error(&text);
    assert_eq!((line, key.as_str()), (6, "extension[2].number"));
    assert_eq!(
        message,
        "duplicate extension number `201`: already used at line 2"
    );
}

#[test]
fn extension_numbers_are_one_to_fifteen_digits() {
    let bad = |number: &str| {
        one_error(&format!(
            "[[extension]]\nnumber = \"{number}\"\nsecret = \"correct-horse\"\n"
        ))
    };
    let (line, key, message) = bad("20a");
    assert_eq!((line, key.as_str()), (2, "extension[1].number"));
    assert!(message.contains("digits 0-9 only"), "{message}");
    assert!(bad("1234567890123456").2.contains("at most 15 digits"));
    assert!(bad("").2.contains("must not be empty"));
    ok("[[extension]]\nnumber = \"123456789012345\"\nsecret = \"correct-horse\"\n");
}

#[test]
fn secrets_must_be_present_non_empty_and_at_least_eight_characters() {
    let with_secret = |secret: &str| {
        one_error(&format!(
            "[[extension]]\nnumber = \"20012345\"\nsecret = \"{secret}\"\n"
        ))
    };
    assert_eq!(
        with_secret(""),
        (
            3,
            "extension[1].secret".to_owned(),
            "must not be empty".to_owned()
        )
    );
    let (line, _, message) = with_secret("1234567");
    assert_eq!(line, 3);
    assert!(message.starts_with("too short: a digest secret needs at least 8 characters"));
    assert!(
        with_secret("20012345")
            .2
            .contains("same as the extension number")
    );
    ok("[[extension]]\nnumber = \"201\"\nsecret = \"12345678\"\n");
}

#[test]
fn registration_intervals_must_be_ordered() {
    let (line, key, message) = one_error("[registrar]\nmin_expires = 600\ndefault_expires = 300\n");
    assert_eq!((line, key.as_str()), (3, "registrar.default_expires"));
    assert_eq!(
        message,
        "min_expires (600) must not be greater than default_expires (300)"
    );

    let (line, key, message) = one_error("[registrar]\nmin_expires = 7200\n");
    assert_eq!((line, key.as_str()), (2, "registrar.min_expires"));
    assert_eq!(
        message,
        "min_expires (7200) must not be greater than max_expires (3600, the default)"
    );

    let (line, key, _) = one_error("[registrar]\nmax_expires = 1800\n");
    assert_eq!((line, key.as_str()), (2, "registrar.max_expires"));

    let (line, key, message) = one_error("[registrar]\nmin_expires = 0\n");
    assert_eq!((line, key.as_str()), (2, "registrar.min_expires"));
    assert_eq!(message, "must be at least 1, found 0");

    let (_, _, message) = one_error("[registrar]\nmax_contacts = 99999999999\n");
    assert!(message.starts_with("too large"), "{message}");

    ok("[registrar]\nmin_expires = 1\ndefault_expires = 1\nmax_expires = 1\n");
}

#[test]
fn listen_addresses_must_be_socket_addresses() {
    let (line, key, message) =
        one_error("[sip]\nlisten_udp = [\"0.0.0.0:5060\",\n  \"localhost:5060\"]\n");
    assert_eq!((line, key.as_str()), (3, "sip.listen_udp"));
    assert!(
        message.starts_with("`localhost:5060` is not a socket address"),
        "{message}"
    );

    let (line, _, message) =
        one_error("[sip]\nlisten_tcp = [\"0.0.0.0:5060\", \"0.0.0.0:5060\"]\n");
    assert_eq!(line, 2);
    assert!(message.contains("listed twice"));

    let (line, key, _) = one_error("[http]\nlisten = \"127.0.0.1\"\n");
    assert_eq!((line, key.as_str()), (2, "http.listen"));

    let (_, _, message) = one_error("[sip]\nlisten_udp = []\nlisten_tcp = []\n");
    assert!(message.contains("at least one address"), "{message}");
}

#[test]
fn the_database_url_scheme_must_be_sqlite_or_postgres() {
    let (line, key, message) = one_error("[database]\nurl = \"mysql://db/pbx\"\n");
    assert_eq!((line, key.as_str()), (2, "database.url"));
    assert!(
        message.contains("not a supported database URL"),
        "{message}"
    );

    let url = "postgres://pbx:pw@db.example.com/crossbar";
    let config = ok(&format!("[database]\nurl = \"{url}\"\n"));
    assert_eq!(
        config.database,
        Database::Postgres {
            url: url.to_owned()
        }
    );
    assert!(!format!("{:?}", config.database).contains("pw@"));
    let config = ok("[database]\nurl = \"postgresql://db/crossbar\"\n");
    assert!(matches!(config.database, Database::Postgres { .. }));
    let config = ok("[database]\nurl = \"sqlite::memory:\"\n");
    assert_eq!(config.database, Database::SqliteMemory);
}

#[test]
fn relative_sqlite_paths_resolve_against_the_config_files_directory() {
    let parse_at = |file: &str, url: &str| {
        Config::parse(&format!("[database]\nurl = \"{url}\"\n"), Path::new(file))
            .unwrap()
            .database
    };
    let sqlite = |path: &str| Database::Sqlite {
        path: PathBuf::from(path),
    };
    assert_eq!(
        parse_at("/etc/crossbar/crossbar.toml", "sqlite://data/pbx.db"),
        sqlite("/etc/crossbar/data/pbx.db")
    );
    assert_eq!(
        parse_at("/etc/crossbar/crossbar.toml", "sqlite:pbx.db"),
        sqlite("/etc/crossbar/pbx.db")
    );
    assert_eq!(
        parse_at(
            "/etc/crossbar/crossbar.toml",
            "sqlite:///var/lib/crossbar/pbx.db"
        ),
        sqlite("/var/lib/crossbar/pbx.db")
    );
    // A relative configuration path is made absolute with the working directory, once.
    let cwd = std::env::current_dir().unwrap();
    assert_eq!(
        parse_at("conf/crossbar.toml", "sqlite://pbx.db"),
        Database::Sqlite {
            path: cwd.join("conf/pbx.db")
        }
    );
    assert_eq!(
        parse_at("crossbar.toml", "sqlite://pbx.db"),
        Database::Sqlite {
            path: cwd.join("pbx.db")
        }
    );
    assert_eq!(
        sqlite("/etc/crossbar/data/pbx.db").url(),
        "sqlite:///etc/crossbar/data/pbx.db"
    );
}

#[test]
fn digest_algorithms_must_be_known_and_not_empty() {
    let (line, key, message) = one_error("[auth]\nalgorithms = [\"MD5\", \"SHA1\"]\n");
    assert_eq!((line, key.as_str()), (2, "auth.algorithms"));
    assert_eq!(
        message,
        "unknown digest algorithm `SHA1`, expected one of: MD5, SHA-256, SHA-512-256"
    );
    let (_, _, message) = one_error("[auth]\nalgorithms = []\n");
    assert!(message.contains("at least one"), "{message}");
    let (_, _, message) = one_error("[auth]\nalgorithms = [\"MD5\", \"md5\"]\n");
    assert!(message.contains("listed twice"), "{message}");
    let config = ok("[auth]\nalgorithms = [\"sha-512-256\", \"MD5\"]\n");
    assert_eq!(
        config.auth.algorithms,
        [DigestAlgorithm::Sha512_256, DigestAlgorithm::Md5]
    );
}

#[test]
fn email_addresses_are_shape_checked() {
    let text = format!("{ALICE}email = \"alice.example.com\"\n");
    let (line, key, message) = one_error(&text);
    assert_eq!((line, key.as_str()), (4, "extension[1].email"));
    assert!(message.contains("not an email address"), "{message}");
    let config = ok(&format!("{ALICE}email = \"alice@example.com\"\n"));
    assert_eq!(
        config.extensions[0].email.as_deref(),
        Some("alice@example.com")
    );
}

#[test]
fn site_country_and_timezone_are_format_checked() {
    let config = ok("[site]\ncountry = \"DE\"\ntimezone = \"America/Argentina/Buenos_Aires\"\n");
    assert_eq!(config.site.country.unwrap().as_str(), "DE");
    ok("[site]\ntimezone = \"Etc/GMT+5\"\n");
    ok("[site]\ntimezone = \"UTC\"\n");

    let all = errors("[site]\ncountry = \"gb\"\ntimezone = \"+01:00\"\n");
    assert_eq!(all.len(), 2, "{all:#?}");
    assert_eq!((all[0].0, all[0].1.as_str()), (2, "site.country"));
    assert!(
        all[0].2.contains("write it in upper case: `GB`"),
        "{}",
        all[0].2
    );
    assert_eq!((all[1].0, all[1].1.as_str()), (3, "site.timezone"));
    for bad in ["Europe/", "Europe London", "../etc/passwd", ""] {
        one_error(&format!("[site]\ntimezone = \"{bad}\"\n"));
    }
}

#[test]
fn unknown_keys_are_errors_with_a_suggestion() {
    let text = format!("{ALICE}\n[[extension]]\nnumber = \"202\"\nsecrt = \"correct-horse\"\n");
    let all = errors(&text);
    assert_eq!(all.len(), 2, "{all:#?}");
    // Missing `secret` at the header, unknown `secrt` at the key.
    assert_eq!((all[0].0, all[0].1.as_str()), (5, "extension[2].secret"));
    assert_eq!((all[1].0, all[1].1.as_str()), (7, "extension[2].secrt"));
    assert_eq!(
        all[1].2,
        "unknown key `secrt` in [[extension]] #2, expected one of: number, username, name, secret, class, \
         external_number, withhold_caller_id, email, max_contacts, no_answer_secs, on_no_answer, \
         on_busy, on_unavailable (did you mean `secret`?)"
    );

    let (line, key, message) = one_error("[sip]\n\nlisten = [\"0.0.0.0:5060\"]\n");
    assert_eq!((line, key.as_str()), (3, "sip.listen"));
    assert!(
        message.starts_with("unknown key `listen` in [sip]"),
        "{message}"
    );

    // A sub-table of a section is an unknown key of that section.
    let (line, key, _) = one_error("[registrar]\n[registrar.extra]\nx = 1\n");
    assert_eq!((line, key.as_str()), (2, "registrar.extra"));
}

#[test]
fn unknown_sections_are_errors() {
    let (line, key, message) = one_error("[sip]\n\n[registar]\nmin_expires = 60\n");
    assert_eq!((line, key.as_str()), (3, "registar"));
    assert!(
        message.starts_with("unknown section `registar`"),
        "{message}"
    );
    assert!(
        message.ends_with("(did you mean `registrar`?)"),
        "{message}"
    );

    let (line, key, _) = one_error("verbose = true\n");
    assert_eq!((line, key.as_str()), (1, "verbose"));
}

#[test]
fn sections_not_implemented_yet_are_rejected_not_ignored() {
    let text = "[site]\ncountry = \"GB\"\n\n[[voicemail]]\nname = \"201\"\n\n[[voicemail]]\nname = \"202\"\n";
    let all = errors(text);
    assert_eq!(all.len(), 1, "{all:#?}");
    assert_eq!((all[0].0, all[0].1.as_str()), (4, "voicemail"));
    assert!(
        all[0]
            .2
            .contains("`voicemail` is not supported by this version of crossbar yet"),
        "{}",
        all[0].2
    );
    // The inbound sections are read now: their problems are their own, not "unsupported".
    for name in ["inbound_route", "time_condition", "ivr", "ring_group"] {
        for (_, _, message) in errors(&format!("\n[[{name}]]\nname = \"x\"\n")) {
            assert!(!message.contains("not supported"), "{name}: {message}");
        }
    }
    // And so are queues: one with a name alone is complete.
    assert_eq!(ok("[[queue]]\nname = \"support\"\n").queues.len(), 1);
}

#[test]
fn a_section_written_with_the_wrong_brackets_is_explained() {
    let (line, key, message) = one_error("[extension]\nnumber = \"201\"\n");
    assert_eq!((line, key.as_str()), (1, "extension"));
    assert!(
        message.contains("write [[extension]], not [extension]"),
        "{message}"
    );
    let (line, key, message) = one_error("[[sip]]\n");
    assert_eq!((line, key.as_str()), (1, "sip"));
    assert!(message.contains("write [sip], not [[sip]]"), "{message}");
}

#[test]
fn every_problem_is_reported_at_once_in_file_order() {
    let text = r#"[sip]
listen_udp = ["0.0.0.0:99999"]
realm = ""

[registrar]
min_expires = 0

[auth]
algorithms = ["SHA1"]

[database]
url = "mysql://x"

[log]
level = "verbose"

[[extension]]
number = "2O1"
secret = "short"
email = "nope"
colour = "red"

[[extension]]
name = "Nobody"

[[voicemail]]
mailbox = "201"
"#;
    let all = errors(text);
    let got: Vec<(usize, &str)> = all.iter().map(|(l, k, _)| (*l, k.as_str())).collect();
    assert_eq!(
        got,
        [
            (2, "sip.listen_udp"),
            (3, "sip.realm"),
            (6, "registrar.min_expires"),
            (9, "auth.algorithms"),
            (12, "database.url"),
            (15, "log.level"),
            (18, "extension[1].number"),
            (19, "extension[1].secret"),
            (20, "extension[1].email"),
            (21, "extension[1].colour"),
            (23, "extension[2].number"),
            (23, "extension[2].secret"),
            (26, "voicemail"),
        ]
    );
}

#[test]
fn a_syntax_error_is_reported_with_its_line_and_column() {
    let text = "[sip]\nrealm = \"crossbar\"\n\n[[extension]]\nnumber = \"201\nsecret = \"correct-horse\"\n";
    let all = Config::parse(text, Path::new("pbx.toml"))
        .unwrap_err()
        .into_vec();
    assert!(!all.is_empty());
    assert_eq!(all[0].line, 5);
    assert!(
        all[0].message.starts_with("TOML syntax error"),
        "{}",
        all[0].message
    );

    let all = Config::parse("[sip]\nrealm = crossbar\n", Path::new("pbx.toml"))
        .unwrap_err()
        .into_vec();
    assert_eq!(all.len(), 1, "{all:#?}");
    assert_eq!((all[0].line, all[0].column), (2, 9));
    assert_eq!(all[0].key, "");

    let all = Config::parse(
        "[sip]\nrealm = \"a\"\nrealm = \"b\"\n",
        Path::new("pbx.toml"),
    )
    .unwrap_err()
    .into_vec();
    assert_eq!(all.len(), 1, "{all:#?}");
    assert_eq!(all[0].line, 3);
    assert_eq!(all[0].message, "TOML syntax error: duplicate key `realm`");
}

#[test]
fn errors_display_like_a_compiler() {
    let text = "[[extension]]\nnumber = \"201\"\nsecret = \"correct-horse\"\n\n[[extension]]\nnumber = \"202\"\nsecret = \"\"\n";
    let errors = Config::parse(text, Path::new("examples/crossbar.toml")).unwrap_err();
    assert_eq!(
        errors.to_string(),
        "examples/crossbar.toml:7:10: extension[2].secret: must not be empty"
    );

    let errors = Config::parse(
        "[sip]\nrealm = \"\"\nuser_agent = \"\"\n",
        Path::new("c.toml"),
    )
    .unwrap_err();
    assert_eq!(
        errors.to_string(),
        "c.toml:2:9: sip.realm: must not be empty\nc.toml:3:14: sip.user_agent: must not be empty"
    );
}

#[test]
fn an_unreadable_file_is_one_error_without_a_position() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/no-such-file.toml");
    let errors = Config::load(&path).unwrap_err().into_vec();
    assert_eq!(errors.len(), 1);
    assert_eq!((errors[0].line, errors[0].column), (0, 0));
    let shown = errors[0].to_string();
    assert!(
        shown.starts_with(&format!("{}: cannot read the file", path.display())),
        "{shown}"
    );
}

#[test]
fn a_file_that_is_not_utf8_is_located() {
    let dir = std::env::temp_dir().join(format!("crossbar-config-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("latin1.toml");
    std::fs::write(&path, b"[[extension]]\nname = \"Jos\xe9\"\n").unwrap();
    let errors = Config::load(&path).unwrap_err().into_vec();
    std::fs::remove_dir_all(&dir).unwrap();
    assert_eq!(errors.len(), 1);
    assert_eq!((errors[0].line, errors[0].column), (2, 12));
    assert!(errors[0].message.contains("not valid UTF-8"));
}

#[test]
fn log_levels_are_checked() {
    let (line, key, message) = one_error("[log]\nlevel = \"infp\"\n");
    assert_eq!((line, key.as_str()), (2, "log.level"));
    assert!(message.starts_with("unknown log level `infp`"), "{message}");
    assert_eq!(
        ok("[log]\nlevel = \"warn,crossbar_proto=debug\"\n")
            .log
            .level,
        "warn,crossbar_proto=debug"
    );
}

#[test]
fn names_and_user_agents_cannot_inject_header_lines() {
    let (line, key, _) = one_error(&format!("{ALICE}name = \"Alice\\r\\nX-Evil: 1\"\n"));
    assert_eq!((line, key.as_str()), (4, "extension[1].name"));
    let (line, key, _) = one_error("[sip]\nuser_agent = \"crossbar\\r\\nX: y\"\n");
    assert_eq!((line, key.as_str()), (2, "sip.user_agent"));
}

#[test]
fn independent_syntax_errors_are_all_reported() {
    let all = Config::parse("a = [1 2]\nb = x\nc = y\n", Path::new("pbx.toml"))
        .unwrap_err()
        .into_vec();
    let lines: Vec<usize> = all.iter().map(|e| e.line).collect();
    assert_eq!(lines, [1, 2, 3], "{all:#?}");
}

#[test]
fn an_unclosed_array_is_one_error_with_a_hint_not_a_cascade() {
    let text = "[sip]\nlisten_udp = [\"0.0.0.0:5060\"\n\n[[extension]]\nnumber = \"201\"\nsecret = \"correct-horse\"\n";
    let all = Config::parse(text, Path::new("pbx.toml"))
        .unwrap_err()
        .into_vec();
    assert_eq!(all.len(), 1, "{all:#?}");
    assert_eq!(all[0].line, 4);
    assert!(
        all[0]
            .message
            .contains("a closing `]` is missing before this line"),
        "{}",
        all[0].message
    );
}

/// Every prefix of the example file, and the file with each line removed, loads or fails with
/// positioned errors — never a panic, never an `Ok` with errors hidden.
#[test]
fn damaged_files_never_panic() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let text = std::fs::read_to_string(root.join("examples/crossbar.toml")).unwrap();
    let path = Path::new("damaged.toml");
    let check = |candidate: &str| {
        if let Err(errors) = Config::parse(candidate, path) {
            assert!(!errors.is_empty());
            let lines = candidate.lines().count() + 1;
            for e in &errors {
                assert!(e.line >= 1 && e.line <= lines && e.column >= 1, "{e}");
            }
        }
    };
    for (end, _) in text.char_indices() {
        check(&text[..end]);
    }
    let lines: Vec<&str> = text.lines().collect();
    for skip in 0..lines.len() {
        let mut damaged: Vec<&str> = lines.clone();
        damaged.remove(skip);
        check(&damaged.join("\n"));
    }
}

#[test]
fn a_username_defaults_to_the_number_and_must_not_name_another_extension() {
    let text = "[[extension]]\nnumber = \"1001\"\nusername = \"user0001\"\nsecret = \"pw0001-long\"\n\
                [[extension]]\nnumber = \"1002\"\nsecret = \"pw0002-long\"\n";
    let config = Config::parse(text, Path::new("users.toml")).expect("valid");
    assert_eq!(config.extensions[0].username, "user0001");
    assert_eq!(config.extensions[1].username, "1002");

    let same = "[[extension]]\nnumber = \"1002\"\nusername = \"1002\"\nsecret = \"pw0002-long\"\n";
    let config = Config::parse(same, Path::new("users.toml")).expect("its own number is fine");
    assert_eq!(config.extensions[0].username, "1002");

    let clash = format!(
        "{ALICE}\n[[extension]]\nnumber = \"202\"\nusername = \"201\"\nsecret = \"another-secret\"\n"
    );
    let (line, key, message) = one_error(&clash);
    assert_eq!((line, key.as_str()), (7, "extension[2].username"));
    assert_eq!(message, "duplicate username `201`: already used at line 2");
}

#[test]
fn the_tcp_incomplete_timeout_defaults_to_30_and_must_be_positive() {
    let config = Config::parse("", Path::new(FILE)).expect("empty config is valid");
    assert_eq!(config.sip.tcp_incomplete_timeout_secs, 30);
    let config =
        Config::parse("[sip]\ntcp_incomplete_timeout_secs = 2\n", Path::new(FILE)).expect("valid");
    assert_eq!(config.sip.tcp_incomplete_timeout_secs, 2);
    let (line, key, message) = one_error("[sip]\ntcp_incomplete_timeout_secs = 0\n");
    assert_eq!((line, key.as_str()), (2, "sip.tcp_incomplete_timeout_secs"));
    assert_eq!(message, "must be at least 1, found 0");
}

/// The rates a trunk charges for `number` (E.164): its rate with the longest prefix.
fn rate_for<'c>(
    trunk: &'c crossbar_config::Trunk,
    number: &str,
) -> Option<&'c crossbar_config::RateRow> {
    let digits = number.trim_start_matches('+');
    trunk
        .rates
        .iter()
        .filter(|r| digits.starts_with(&r.prefix))
        .max_by_key(|r| r.prefix.len())
}

#[test]
fn the_example_file_sets_up_two_carriers_that_each_win_some_destinations() {
    support::example_prompts();
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let config =
        Config::load(&root.join("examples/crossbar.toml")).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(config.site.currency.as_deref(), Some("GBP"));
    let classes: Vec<&str> = config.classes.iter().map(|c| c.name.as_str()).collect();
    assert_eq!(classes, ["national", "international"]);
    assert!(
        !config.classes[0]
            .allow
            .contains(&crossbar_cdr::DestinationClass::International)
    );
    let international = &config.classes[1];
    assert!(
        international.max_calls_per_minute.is_some()
            && international.max_calls_per_day.is_some()
            && international.daily_spend_limit.is_some()
    );
    for extension in &config.extensions {
        let class = extension
            .class
            .as_deref()
            .expect("every example phone has a class");
        assert!(config.class(class).is_some());
    }

    let trunks: Vec<(&str, &str, Option<u16>)> = config
        .trunks
        .iter()
        .map(|t| (t.name.as_str(), t.host.as_str(), t.port))
        .collect();
    assert_eq!(
        trunks,
        [
            ("carrier-a", "127.0.0.1", Some(5070)),
            ("carrier-b", "127.0.0.1", Some(5072))
        ]
    );
    for trunk in &config.trunks {
        assert_eq!(trunk.transport, crossbar_config::TrunkTransport::Udp);
        assert!(trunk.options_interval_secs > 0, "health checks are on");
        assert!(trunk.rates.len() >= 10, "{} has a rate deck", trunk.name);
    }
    let route = &config.outbound_routes[0];
    assert_eq!(route.strategy, crossbar_config::Strategy::LeastCost);
    assert_eq!(route.trunks, ["carrier-a", "carrier-b"]);
    assert!(route.caller_id.is_some());

    // The cheaper trunk for a two-minute call, destination by destination.
    let cheapest = |number: &str| {
        config
            .trunks
            .iter()
            .filter_map(|t| Some((rate_for(t, number)?.rate.cost(Some(120_000)), &t.name)))
            .min()
            .map(|(_, name)| name.as_str())
    };
    let picks: Vec<Option<&str>> = [
        "+442079460123", // UK fixed
        "+447700900123", // UK mobile
        "+33142868200",  // France fixed
        "+33612345678",  // France mobile
        "+493012345678", // Germany fixed
        "+4915112345678",
        "+12125550100",  // United States
        "+448001234567", // UK freephone: only carrier-a has a rate
    ]
    .iter()
    .map(|n| cheapest(n))
    .collect();
    assert_eq!(
        picks,
        [
            Some("carrier-a"),
            Some("carrier-b"),
            Some("carrier-b"),
            Some("carrier-a"),
            Some("carrier-b"),
            Some("carrier-b"),
            Some("carrier-a"),
            Some("carrier-a"),
        ]
    );
}

#[test]
fn the_example_file_takes_its_did_to_a_menu_in_office_hours_and_alice_outside_them() {
    support::example_prompts();
    let root = support::repository();
    let config =
        Config::load(&root.join("examples/crossbar.toml")).unwrap_or_else(|e| panic!("{e}"));
    let carrier_a = config.trunk("carrier-a").unwrap();
    assert_eq!(carrier_a.did_from, DidSource::RequestUri);
    assert_eq!(carrier_a.default_destination, None);

    let route = &config.inbound_routes[0];
    assert_eq!(route.trunks, ["carrier-a"]);
    assert_eq!(
        route.dids,
        [NumberPattern::Exact("+442079460000".to_owned())]
    );
    let tc = |name: &str| Destination::TimeCondition(name.to_owned());
    assert_eq!(route.destination, tc("office-hours"));

    let office_hours = config.time_condition("office-hours").unwrap();
    assert_eq!(office_hours.open, ["mon-fri 09:00-17:30".parse().unwrap()]);
    assert_eq!(
        office_hours.holidays,
        [
            Holiday::Yearly { month: 12, day: 25 },
            Holiday::Yearly { month: 12, day: 26 },
            Holiday::Yearly { month: 1, day: 1 },
        ]
    );
    assert_eq!(office_hours.when_open, Destination::Ivr("main".to_owned()));
    let alice = Destination::Extension("201".to_owned());
    assert_eq!(office_hours.when_closed, alice);
    assert_eq!(
        config.extension("201").unwrap().escalation.on_no_answer,
        Some(Destination::Hangup)
    );

    let menu = config.ivr("main").unwrap();
    assert_eq!(menu.prompt, PromptRef::Named("greeting".to_owned()));
    assert_eq!(
        menu.options,
        [
            ('1', Destination::Group("sales".to_owned())),
            ('2', Destination::Queue("support".to_owned())),
            ('0', alice),
        ]
    );
    assert!(menu.direct_dial);
    let sales = config.ring_group("sales").unwrap();
    assert_eq!(sales.strategy, RingStrategy::Hunt);
    assert_eq!(
        sales.members,
        [
            crossbar_config::Member::Extension("201".to_owned()),
            crossbar_config::Member::Extension("202".to_owned()),
        ]
    );

    // The prompts are the repository's own prompts/ directory, generated at setup.
    assert_eq!(
        std::path::absolute(&config.prompts.dir).unwrap(),
        std::path::absolute(root.join("examples/../prompts")).unwrap()
    );
    assert_eq!(config.prompts.default_language, "en");
    for name in support::EXAMPLE_PROMPTS {
        assert!(
            config.prompts.path("en", name).is_file(),
            "prompts/en/{name}.wav"
        );
    }
}

#[test]
fn the_example_file_does_not_load_without_its_prompts() {
    // The example, read from a directory with its rate decks but no prompts beside it.
    let root = support::repository();
    let dir = support::Dir::new("load-example-without-prompts");
    for deck in ["carrier-a.csv", "carrier-b.csv"] {
        let rates = std::fs::read(root.join("examples/rates").join(deck)).unwrap();
        dir.write(&format!("examples/rates/{deck}"), &rates);
    }
    let text = std::fs::read_to_string(root.join("examples/crossbar.toml")).unwrap();
    let errors = Config::parse(&text, &dir.path().join("examples/crossbar.toml"))
        .unwrap_err()
        .into_vec();
    assert_eq!(errors.len(), 1, "{errors:#?}");
    assert_eq!(errors[0].key, "prompts.dir");
    assert!(
        errors[0].message.starts_with("the prompts directory `"),
        "{}",
        errors[0].message
    );
    // With placeholders for the three prompts its menu names, it loads.
    dir.prompts("en", &["greeting", "invalid", "timeout"]);
    Config::parse(&text, &dir.path().join("examples/crossbar.toml"))
        .unwrap_or_else(|e| panic!("{e}"));
}
