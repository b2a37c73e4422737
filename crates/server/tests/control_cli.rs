//! `crossbar extension blocked|unblock`, `crossbar alerts` and `crossbar token new`: blocks
//! and alerts written with crossbar-store into the SQLite database a configuration file
//! names, listed and released by the binary.

use std::path::PathBuf;
use std::process::{Command, Output};

use crossbar_api::bearer::token_sha256;
use crossbar_store::{AlertKind, Block, Store};
use serde_json::{Value, json};

const CROSSBAR: &str = env!("CARGO_BIN_EXE_crossbar");

/// 2026-11-21T09:00:00Z.
const NINE: i64 = 1_795_251_600_000;
const MINUTE: i64 = 60_000;

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a runtime")
}

/// A directory with `crossbar.toml` (extensions 201, 202, 203; `site` lines, if any) naming
/// `crossbar.db` beside it, where 201 and 203 are blocked and three alerts were raised.
struct Site {
    dir: tempfile::TempDir,
}

impl Site {
    fn new(site: &str) -> Site {
        let dir = tempfile::tempdir().expect("a temp dir");
        let mut config = format!("{site}\n[database]\nurl = \"sqlite://crossbar.db\"\n");
        for number in ["201", "202", "203"] {
            config.push_str(&format!(
                "[[extension]]\nnumber = \"{number}\"\nsecret = \"secret-of-{number}\"\n"
            ));
        }
        std::fs::write(dir.path().join("crossbar.toml"), config).expect("config written");
        let site = Site { dir };
        site.with_store(async |store| {
            store
                .block_extension("201", "31 calls in a minute (cap 30)", NINE)
                .await
                .expect("block 201");
            store
                .block_extension("203", "spent 20.40 today (cap 20.00)", NINE + MINUTE)
                .await
                .expect("block 203");
            for (kind, subject, message, at) in [
                (
                    AlertKind::FraudCap,
                    "extension:201",
                    "31 calls in a minute",
                    NINE,
                ),
                (
                    AlertKind::FraudCap,
                    "extension:203",
                    "spent 20.40 today",
                    NINE + MINUTE,
                ),
                (
                    AlertKind::TrunkDown,
                    "trunk:carrier-a",
                    "no answer to OPTIONS",
                    NINE + 2 * MINUTE,
                ),
            ] {
                store
                    .raise_alert(kind, subject, message, at)
                    .await
                    .expect("alert raised");
            }
        });
        site
    }

    fn config(&self) -> PathBuf {
        self.dir.path().join("crossbar.toml")
    }

    /// Runs `work` on the site's database.
    fn with_store<T>(&self, work: impl AsyncFnOnce(&Store) -> T) -> T {
        let url = format!("sqlite://{}", self.dir.path().join("crossbar.db").display());
        runtime().block_on(async {
            let store = Store::open(&url).await.expect("the database opens");
            let result = work(&store).await;
            store.close().await;
            result
        })
    }

    fn blocked(&self) -> Vec<Block> {
        self.with_store(async |store| store.blocked_extensions().await.expect("blocks listed"))
    }

    /// `crossbar ARGS... --config <this site's file>`, run as the OS user `alice`.
    fn crossbar(&self, args: &[&str]) -> Output {
        Command::new(CROSSBAR)
            .args(args)
            .arg("--config")
            .arg(self.config())
            .env_remove("RUST_LOG")
            .env("USER", "alice")
            .output()
            .expect("the crossbar binary runs")
    }
}

fn stdout_of(out: &Output) -> String {
    assert_eq!(
        out.status.code(),
        Some(0),
        "stderr:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout.clone()).expect("UTF-8 output")
}

fn stderr_of(out: &Output) -> String {
    String::from_utf8(out.stderr.clone()).expect("UTF-8 output")
}

#[test]
fn blocked_lists_the_extensions_in_force_by_number() {
    let site = Site::new("");
    let out = stdout_of(&site.crossbar(&["extension", "blocked"]));
    let expected = "\
EXTENSION  BLOCKED SINCE        REASON
201        2026-11-21 09:00:00  31 calls in a minute (cap 30)
203        2026-11-21 09:01:00  spent 20.40 today (cap 20.00)
2 extensions blocked
";
    assert_eq!(out, expected);
}

#[test]
fn blocked_as_json_is_the_api_form() {
    let site = Site::new("");
    let out = stdout_of(&site.crossbar(&["extension", "blocked", "--format", "json"]));
    let listed: Value = serde_json::from_str(&out).expect("JSON");
    let ids: Vec<i64> = site.blocked().iter().map(|b| b.id).collect();
    assert_eq!(
        listed,
        json!([
            {
                "id": ids[0],
                "extension": "201",
                "blocked_at_ms": NINE,
                "reason": "31 calls in a minute (cap 30)",
                "released_at_ms": null,
                "released_by": null,
            },
            {
                "id": ids[1],
                "extension": "203",
                "blocked_at_ms": NINE + MINUTE,
                "reason": "spent 20.40 today (cap 20.00)",
                "released_at_ms": null,
                "released_by": null,
            },
        ])
    );
}

#[test]
fn unblock_releases_the_block_as_the_os_user_and_says_what_it_released() {
    let site = Site::new("[site]\ntimezone = \"Europe/London\"\n");
    let before = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("after 1970")
        .as_millis();
    let out = stdout_of(&site.crossbar(&["extension", "unblock", "201"]));
    assert_eq!(
        out,
        "released extension 201: blocked since 2026-11-21 09:00:00 for: 31 calls in a \
         minute (cap 30)\na running crossbar lets it call out again within 2 seconds\n"
    );
    let blocked: Vec<String> = site.blocked().into_iter().map(|b| b.extension).collect();
    assert_eq!(blocked, ["203"]);
    let history = site.with_store(async |store| store.blocks(Some("201")).await.expect("history"));
    assert_eq!(history.len(), 1);
    assert_eq!(history[0].released_by.as_deref(), Some("cli:alice"));
    let released_at = history[0].released_at_ms.expect("released");
    assert!(
        i128::from(released_at) >= before as i128,
        "released at the wall-clock time of the command"
    );

    let out = stdout_of(&site.crossbar(&["extension", "blocked"]));
    assert!(out.starts_with("EXTENSION"), "{out}");
    assert!(out.ends_with("\n1 extension blocked\n"), "{out}");
}

#[test]
fn unblock_of_an_extension_that_is_not_blocked_exits_1_saying_so() {
    let site = Site::new("");
    let out = site.crossbar(&["extension", "unblock", "202"]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        stderr_of(&out),
        "crossbar extension unblock: extension 202 is not blocked; nothing released\n"
    );
    assert!(out.stdout.is_empty());
    assert_eq!(site.blocked().len(), 2);
}

#[test]
fn unblock_of_a_number_that_is_no_extension_exits_2_and_changes_nothing() {
    let site = Site::new("");
    let out = site.crossbar(&["extension", "unblock", "999"]);
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(
        stderr_of(&out),
        format!(
            "crossbar extension unblock: 999 is not an extension of {}\n",
            site.config().display()
        )
    );
    assert_eq!(site.blocked().len(), 2);
}

#[test]
fn no_extension_blocked_is_said_in_words() {
    let site = Site::new("");
    for number in ["201", "203"] {
        stdout_of(&site.crossbar(&["extension", "unblock", number]));
    }
    let out = stdout_of(&site.crossbar(&["extension", "blocked"]));
    assert_eq!(out, "no extension is blocked\n");
    let out = stdout_of(&site.crossbar(&["extension", "blocked", "--format", "json"]));
    assert_eq!(out, "[]\n");
}

#[test]
fn alerts_are_listed_newest_first_in_the_site_time_zone() {
    let site = Site::new("[site]\ntimezone = \"America/New_York\"\n");
    let out = stdout_of(&site.crossbar(&["alerts"]));
    let expected = "\
RAISED               KIND        SUBJECT          MESSAGE               ACKNOWLEDGED BY
2026-11-21 04:02:00  trunk_down  trunk:carrier-a  no answer to OPTIONS  -
2026-11-21 04:01:00  fraud_cap   extension:203    spent 20.40 today     -
2026-11-21 04:00:00  fraud_cap   extension:201    31 calls in a minute  -
3 alerts
";
    assert_eq!(out, expected);

    // 04:01 in New York is 09:01Z.
    let out = stdout_of(&site.crossbar(&["alerts", "--since", "2026-11-21T04:01", "--limit", "1"]));
    assert_eq!(
        out.lines().skip(1).collect::<Vec<_>>(),
        [
            "2026-11-21 04:02:00  trunk_down  trunk:carrier-a  no answer to OPTIONS  -",
            "1 alert"
        ]
    );
    let out = stdout_of(&site.crossbar(&["alerts", "--since", "2026-11-22"]));
    assert_eq!(out, "no alerts\n");
}

#[test]
fn alerts_as_json_are_the_api_form() {
    let site = Site::new("");
    let out = stdout_of(&site.crossbar(&["alerts", "--format", "json", "--limit", "2"]));
    let listed: Vec<Value> = serde_json::from_str(&out).expect("a JSON array");
    assert_eq!(listed.len(), 2);
    let id = listed[1]["id"].as_i64().expect("an id");
    assert_eq!(
        listed[1],
        json!({
            "id": id,
            "raised_at_ms": NINE + MINUTE,
            "kind": "fraud_cap",
            "subject": "extension:203",
            "message": "spent 20.40 today",
            "acknowledged_at_ms": null,
            "acknowledged_by": null,
        })
    );
    assert_eq!(listed[0]["kind"], "trunk_down");
}

#[test]
fn a_bad_alerts_option_exits_2_saying_what_is_wrong() {
    let site = Site::new("");
    for (args, message) in [
        (
            &["alerts", "--limit", "5000"][..],
            "crossbar alerts: --limit: `5000` is not a whole number from 0 to 1000\n",
        ),
        (
            &["alerts", "--since", "soon"][..],
            "crossbar alerts: --since: `soon` is not a time: expected RFC 3339 \
             (2026-11-21T09:00:00Z), a local date and time (2026-11-21T09:00:00) or a date \
             (2026-11-21)\n",
        ),
    ] {
        let out = site.crossbar(args);
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        assert_eq!(stderr_of(&out), message, "{args:?}");
        assert!(out.stdout.is_empty());
    }
}

#[test]
fn a_missing_database_exits_1_without_creating_it() {
    let dir = tempfile::tempdir().expect("a temp dir");
    let config = dir.path().join("crossbar.toml");
    std::fs::write(
        &config,
        "[database]\nurl = \"sqlite://none.db\"\n[[extension]]\nnumber = \"201\"\n\
         secret = \"secret-of-201\"\n",
    )
    .expect("config written");
    for args in [
        &["extension", "blocked"][..],
        &["extension", "unblock", "201"][..],
        &["alerts"][..],
    ] {
        let out = Command::new(CROSSBAR)
            .args(args)
            .arg("--config")
            .arg(&config)
            .output()
            .expect("the crossbar binary runs");
        assert_eq!(out.status.code(), Some(1), "{args:?}");
        assert!(stderr_of(&out).contains("no database at"), "{args:?}");
    }
    assert!(!dir.path().join("none.db").exists());
}

/// `crossbar token new NAME`: its output, the token and the configuration entry in it.
fn new_token(name: &str) -> (String, String, String) {
    let out = Command::new(CROSSBAR)
        .args(["token", "new", name])
        .output()
        .expect("the crossbar binary runs");
    let text = stdout_of(&out);
    let mut indented = text
        .lines()
        .filter_map(|l| l.strip_prefix("    "))
        .map(str::to_owned);
    let token = indented.next().expect("the token, indented");
    let entry = indented.next().expect("the entry, indented");
    (text, token, entry)
}

#[test]
fn token_new_prints_a_fresh_token_once_and_the_entry_that_accepts_it() {
    let (text, token, entry) = new_token("ops");
    assert!(
        text.starts_with(
            "New API token \"ops\" (shown once: crossbar keeps only its SHA-256, so copy it now):\n"
        ),
        "{text}"
    );
    // 32 random bytes as unpadded URL-safe base64.
    assert_eq!(token.len(), 43, "{token}");
    assert!(
        token
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_'),
        "{token}"
    );
    let hex: String = token_sha256(&token)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    assert_eq!(entry, format!("{{ name = \"ops\", sha256 = \"{hex}\" }}"));
    assert!(
        text.contains(&format!(
            "    [http]\n    tokens = [\n        {entry},\n    ]\n"
        )),
        "{text}"
    );
    assert!(
        text.contains(&format!("`Authorization: Bearer {token}`")),
        "{text}"
    );

    let (_, another, _) = new_token("ops");
    assert_ne!(token, another, "every token is new");
}

#[test]
fn token_new_escapes_the_name_for_toml_and_refuses_an_empty_one() {
    let (_, _, entry) = new_token(r#"night "shift""#);
    assert!(
        entry.starts_with(r#"{ name = "night \"shift\"", sha256 = ""#),
        "{entry}"
    );
    let out = Command::new(CROSSBAR)
        .args(["token", "new", " "])
        .output()
        .expect("the crossbar binary runs");
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(stderr_of(&out), "crossbar token new: the name is empty\n");
    assert!(out.stdout.is_empty());
}
