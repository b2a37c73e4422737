//! Test support (feature `testing`): a throwaway PostgreSQL server per test binary, one fresh
//! database per test, and temporary SQLite files.
//!
//! Use from another crate's tests with
//! `crossbar-store = { workspace = true, features = ["testing"] }` in `[dev-dependencies]`:
//!
//! ```no_run
//! # async fn demo() {
//! let db = crossbar_store::testing::postgres_database().await; // panics with a how-to if no PG
//! let store = crossbar_store::Store::open(&db.url).await.unwrap();
//! let sqlite = crossbar_store::testing::SqliteFile::new();
//! let store = crossbar_store::Store::open(&sqlite.url).await.unwrap();
//! # }
//! ```
//!
//! Where the server comes from:
//! 1. `CROSSBAR_TEST_POSTGRES_URL`, if set: an existing server whose user may
//!    `CREATE DATABASE` (the URL's own database is only used to connect);
//! 2. otherwise the PostgreSQL binaries on this machine (`CROSSBAR_PG_BINDIR`, else the newest
//!    `/usr/lib/postgresql/*/bin`, else `initdb` on `PATH`): `initdb` into a temp dir, then
//!    `pg_ctl start` listening on 127.0.0.1 on a free port, its unix socket in that temp dir,
//!    durability off (fsync, synchronous_commit, full_page_writes) because it is thrown away.
//!    As root (CI) the binaries run as the `postgres` OS user (`runuser`, else `setpriv`),
//!    since `initdb` and `pg_ctl` refuse root, and the temp dir is handed to that user.
//!
//! The server is started once per test binary (process) and shared. It is stopped when the
//! process ends, however it ends: a small guardian shell holds the read end of a pipe whose
//! write end only this process holds; when the process exits the pipe closes, and the guardian
//! runs `pg_ctl stop -m fast` (falling back to signalling the pid in `postmaster.pid`) and
//! removes the temp dir. (A `static` is never dropped, so a destructor could not do it.)
//!
//! If neither source works the PostgreSQL tests fail — never skip — with a message saying how
//! to install PostgreSQL.

use std::net::TcpListener;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Output, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use sqlx::{AssertSqlSafe, Connection, Executor};

/// The environment variable naming an existing PostgreSQL server to test against.
pub const POSTGRES_URL_ENV: &str = "CROSSBAR_TEST_POSTGRES_URL";
/// The environment variable naming the directory holding `initdb` and `pg_ctl`.
pub const POSTGRES_BINDIR_ENV: &str = "CROSSBAR_PG_BINDIR";

const INSTALL_HINT: &str = "PostgreSQL is needed for the PostgreSQL tests. Install it with \
     `scripts/install-deps.sh` (or `apt-get install -y postgresql` on Debian/Ubuntu), or point \
     CROSSBAR_TEST_POSTGRES_URL at a server where the user may CREATE DATABASE \
     (e.g. postgres://postgres@127.0.0.1:5432/postgres).";

/// A temporary SQLite database file (removed with its directory on drop).
#[derive(Debug)]
pub struct SqliteFile {
    /// `sqlite://<dir>/<sub>/crossbar.db`: the parent directory does not exist yet, so opening
    /// it also exercises directory creation.
    pub url: String,
    /// The database file's path.
    pub path: PathBuf,
    _dir: tempfile::TempDir,
}

impl SqliteFile {
    /// A new, not yet created, database file in a fresh temp dir.
    ///
    /// # Panics
    /// If the temp dir cannot be created (a broken test machine).
    pub fn new() -> SqliteFile {
        let dir = tempfile::Builder::new()
            .prefix("crossbar-sqlite-")
            .tempdir()
            .expect("a temp dir can be created for the test SQLite file");
        let path = dir.path().join("data").join("crossbar.db");
        SqliteFile {
            url: format!("sqlite://{}", path.display()),
            path,
            _dir: dir,
        }
    }
}

impl Default for SqliteFile {
    fn default() -> Self {
        Self::new()
    }
}

/// A fresh, empty PostgreSQL database created for one test.
#[derive(Debug, Clone)]
pub struct PostgresDatabase {
    /// URL to pass to [`crate::Store::open`].
    pub url: String,
    /// The database's name (`test_<pid>_<n>_<nanos>`).
    pub name: String,
}

/// Creates a fresh database on the test PostgreSQL server (starting the server on first use).
///
/// # Panics
/// With an explanation (and how to install PostgreSQL) if no server can be had: a test that
/// needs PostgreSQL must fail, not skip.
pub async fn postgres_database() -> PostgresDatabase {
    match try_postgres_database().await {
        Ok(db) => db,
        Err(message) => panic!("{message}"),
    }
}

/// Like [`postgres_database`], returning the failure as a message instead of panicking.
pub async fn try_postgres_database() -> Result<PostgresDatabase, String> {
    let server = postgres_server()?;
    static NEXT: AtomicU32 = AtomicU32::new(0);
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or_default();
    let name = format!(
        "test_{}_{}_{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed),
        nanos
    );
    // Retry the connection for a while: a just-started server may still be warming up.
    let deadline = Instant::now() + Duration::from_secs(30);
    let mut conn = loop {
        match sqlx::PgConnection::connect(&server.admin_url).await {
            Ok(conn) => break conn,
            Err(e) if Instant::now() < deadline => {
                tracing::debug!(error = %e, "test PostgreSQL not ready yet");
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
            Err(e) => {
                return Err(format!(
                    "cannot connect to the test PostgreSQL server at {} ({}): {e}\n{INSTALL_HINT}",
                    redact(&server.admin_url),
                    server.origin
                ));
            }
        }
    };
    conn.execute(AssertSqlSafe(format!("CREATE DATABASE \"{name}\"")))
        .await
        .map_err(|e| {
            format!(
                "cannot CREATE DATABASE on the test PostgreSQL server at {}: {e}",
                redact(&server.admin_url)
            )
        })?;
    // Best effort: the connection is only used for setup.
    let _ = conn.close().await;
    Ok(PostgresDatabase {
        url: with_database(&server.admin_url, &name),
        name,
    })
}

/// The shared test server: `(admin URL, where it came from)`, started on first call.
struct Server {
    admin_url: String,
    origin: &'static str,
}

fn postgres_server() -> Result<&'static Server, String> {
    static SERVER: OnceLock<Result<Server, String>> = OnceLock::new();
    SERVER
        .get_or_init(|| {
            if let Ok(url) = std::env::var(POSTGRES_URL_ENV)
                && !url.trim().is_empty()
            {
                return Ok(Server {
                    admin_url: url.trim().to_owned(),
                    origin: "from CROSSBAR_TEST_POSTGRES_URL",
                });
            }
            start_throwaway_server().map(|admin_url| Server {
                admin_url,
                origin: "throwaway server started by the tests",
            })
        })
        .as_ref()
        .map_err(Clone::clone)
}

/// Keeps the guardian's stdin (the pipe's only write end) open for the life of the process;
/// never written to, never closed: the kernel closes it when the process exits.
static GUARDIAN: Mutex<Option<(Child, ChildStdin)>> = Mutex::new(None);

/// How to run a PostgreSQL binary: directly, or as the `postgres` user when we are root.
#[derive(Debug, Clone)]
struct RunAs {
    wrapper: Vec<String>,
    owner: Option<(u32, u32)>,
}

impl RunAs {
    fn command(&self, program: &Path) -> Command {
        let mut cmd = match self.wrapper.split_first() {
            Some((first, rest)) => {
                let mut cmd = Command::new(first);
                cmd.args(rest).arg(program);
                cmd
            }
            None => Command::new(program),
        };
        cmd.stdin(Stdio::null());
        cmd
    }
}

fn start_throwaway_server() -> Result<String, String> {
    let bindir = find_bindir()?;
    let run_as = run_as()?;
    let dir = tempfile::Builder::new()
        .prefix("crossbar-pg-")
        .tempdir()
        .map_err(|e| format!("cannot create a temp dir for the test PostgreSQL server: {e}"))?
        .keep();
    if let Some((uid, gid)) = run_as.owner {
        std::os::unix::fs::chown(&dir, Some(uid), Some(gid))
            .map_err(|e| format!("cannot hand {} to the postgres user: {e}", dir.display()))?;
    }
    let data = dir.join("data");
    let log = dir.join("postgres.log");
    let pg_ctl = bindir.join("pg_ctl");

    // The guardian first, so that whatever happens next, the process's exit cleans up.
    spawn_guardian(&pg_ctl, &data, &dir, &run_as)?;

    let initdb = run(run_as
        .command(&bindir.join("initdb"))
        .current_dir(&dir)
        .arg("-D")
        .arg(&data)
        .args(["-U", "postgres", "-A", "trust", "-E", "UTF8", "--no-locale"])
        .arg("--no-sync"))?;
    if !initdb.status.success() {
        return Err(format!(
            "initdb failed ({}):\n{}{}\n{INSTALL_HINT}",
            initdb.status,
            String::from_utf8_lossy(&initdb.stdout),
            String::from_utf8_lossy(&initdb.stderr)
        ));
    }

    let mut last_error = String::new();
    for _attempt in 0..3 {
        let port = free_port()?;
        let options = format!(
            "-c listen_addresses=127.0.0.1 -p {port} -k '{}' -c fsync=off \
             -c synchronous_commit=off -c full_page_writes=off -c max_connections=200",
            dir.display()
        );
        let start = run(run_as
            .command(&pg_ctl)
            .current_dir(&dir)
            .arg("start")
            .arg("-D")
            .arg(&data)
            .arg("-l")
            .arg(&log)
            .args(["-w", "-t", "60", "-o", &options]))?;
        if start.status.success() && wait_ready(&bindir, port) {
            tracing::info!(port, dir = %dir.display(), "started throwaway PostgreSQL for tests");
            return Ok(format!("postgres://postgres@127.0.0.1:{port}/postgres"));
        }
        last_error = format!(
            "pg_ctl start failed ({}):\n{}{}\nserver log:\n{}",
            start.status,
            String::from_utf8_lossy(&start.stdout),
            String::from_utf8_lossy(&start.stderr),
            std::fs::read_to_string(&log).unwrap_or_default()
        );
        // Another process may have taken the port between our probe and the start; make sure
        // nothing half-started lingers, then try another port.
        let _ = run(run_as
            .command(&pg_ctl)
            .current_dir(&dir)
            .args(["stop", "-m", "immediate", "-D"])
            .arg(&data));
    }
    Err(format!(
        "cannot start the test PostgreSQL server: {last_error}\n{INSTALL_HINT}"
    ))
}

/// Starts the shell that stops the server and removes `dir` once this process has exited.
fn spawn_guardian(pg_ctl: &Path, data: &Path, dir: &Path, run_as: &RunAs) -> Result<(), String> {
    // Waits for EOF on stdin (this process gone), then stops the server: `pg_ctl stop`, or, if
    // that fails, SIGQUIT (immediate shutdown) to the pid the server wrote in postmaster.pid.
    const SCRIPT: &str = r#"
trap '' INT HUP
pg_ctl=$1 data=$2 dir=$3
shift 3
cat >/dev/null
if [ -f "$data/postmaster.pid" ]; then
  "$@" "$pg_ctl" stop -D "$data" -m fast -w -t 30 ||
    kill -QUIT "$(head -n 1 "$data/postmaster.pid")"
fi
rm -rf "$dir"
"#;
    let mut child = Command::new("sh")
        .arg("-c")
        .arg(SCRIPT)
        .arg("crossbar-pg-guardian")
        .arg(pg_ctl)
        .arg(data)
        .arg(dir)
        .args(&run_as.wrapper)
        .current_dir(dir)
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        // Its own process group: a Ctrl-C aimed at the test run must not kill the guardian
        // before it has stopped the server.
        .process_group(0)
        .spawn()
        .map_err(|e| format!("cannot start the PostgreSQL guardian shell (sh): {e}"))?;
    let stdin = child
        .stdin
        .take()
        .expect("stdin was configured as piped just above");
    *GUARDIAN.lock().unwrap_or_else(|poison| poison.into_inner()) = Some((child, stdin));
    Ok(())
}

fn wait_ready(bindir: &Path, port: u16) -> bool {
    let deadline = Instant::now() + Duration::from_secs(30);
    let pg_isready = bindir.join("pg_isready");
    while Instant::now() < deadline {
        let ready = Command::new(&pg_isready)
            .args(["-q", "-h", "127.0.0.1", "-p", &port.to_string(), "-t", "2"])
            .stdin(Stdio::null())
            .status()
            .map(|s| s.success());
        match ready {
            Ok(true) => return true,
            // No pg_isready: pg_ctl -w already waited; the connect retry covers the rest.
            Err(_) => return true,
            Ok(false) => std::thread::sleep(Duration::from_millis(100)),
        }
    }
    false
}

fn run(cmd: &mut Command) -> Result<Output, String> {
    cmd.output()
        .map_err(|e| format!("cannot run {:?}: {e}\n{INSTALL_HINT}", cmd.get_program()))
}

fn find_bindir() -> Result<PathBuf, String> {
    let has_tools = |dir: &Path| dir.join("initdb").is_file() && dir.join("pg_ctl").is_file();
    if let Some(dir) = std::env::var_os(POSTGRES_BINDIR_ENV) {
        let dir = PathBuf::from(dir);
        return if has_tools(&dir) {
            Ok(dir)
        } else {
            Err(format!(
                "{POSTGRES_BINDIR_ENV}={} has no initdb/pg_ctl.\n{INSTALL_HINT}",
                dir.display()
            ))
        };
    }
    // Debian/Ubuntu keep the server binaries off PATH, one directory per major version.
    let newest_debian = std::fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|entry| {
            let major: u32 = entry.file_name().to_str()?.parse().ok()?;
            let bin = entry.path().join("bin");
            has_tools(&bin).then_some((major, bin))
        })
        .max_by_key(|(major, _)| *major)
        .map(|(_, bin)| bin);
    if let Some(bin) = newest_debian {
        return Ok(bin);
    }
    let on_path = std::env::var_os("PATH")
        .map(|paths| std::env::split_paths(&paths).find(|dir| has_tools(dir)))
        .unwrap_or_default();
    on_path.ok_or_else(|| {
        format!(
            "no PostgreSQL server binaries (initdb, pg_ctl) found in {POSTGRES_BINDIR_ENV}, \
             /usr/lib/postgresql/*/bin or PATH, and {POSTGRES_URL_ENV} is not set.\n{INSTALL_HINT}"
        )
    })
}

/// Root may not run `initdb`/`pg_ctl`: run them as the `postgres` user instead.
fn run_as() -> Result<RunAs, String> {
    let id = |args: &[&str]| -> Option<u32> {
        let out = Command::new("id").args(args).output().ok()?;
        if !out.status.success() {
            return None;
        }
        String::from_utf8(out.stdout).ok()?.trim().parse().ok()
    };
    if id(&["-u"]) != Some(0) {
        return Ok(RunAs {
            wrapper: Vec::new(),
            owner: None,
        });
    }
    let (Some(uid), Some(gid)) = (id(&["-u", "postgres"]), id(&["-g", "postgres"])) else {
        return Err(format!(
            "running as root, where initdb refuses to run, and there is no `postgres` OS user to \
             run it as (the Debian package creates one).\n{INSTALL_HINT}"
        ));
    };
    let works = |program: &str| {
        Command::new(program)
            .arg("--version")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
    };
    let wrapper: Vec<String> = if works("runuser") {
        ["runuser", "-u", "postgres", "--"]
            .map(String::from)
            .to_vec()
    } else if works("setpriv") {
        vec![
            "setpriv".into(),
            format!("--reuid={uid}"),
            format!("--regid={gid}"),
            "--init-groups".into(),
            "--".into(),
        ]
    } else {
        return Err(format!(
            "running as root, where initdb refuses to run, and neither `runuser` nor `setpriv` \
             (util-linux) is available to run it as the `postgres` user.\n{INSTALL_HINT}"
        ));
    };
    Ok(RunAs {
        wrapper,
        owner: Some((uid, gid)),
    })
}

fn free_port() -> Result<u16, String> {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|addr| addr.port())
        .map_err(|e| format!("cannot find a free TCP port on 127.0.0.1: {e}"))
}

/// `url` with its database (path) replaced by `database`, query string kept.
fn with_database(url: &str, database: &str) -> String {
    let (base, query) = match url.split_once('?') {
        Some((base, query)) => (base, Some(query)),
        None => (url, None),
    };
    let authority_start = base.find("://").map_or(0, |i| i + 3);
    let path_start = base[authority_start..]
        .find('/')
        .map_or(base.len(), |i| authority_start + i);
    let mut out = format!("{}/{database}", &base[..path_start]);
    if let Some(query) = query {
        out.push('?');
        out.push_str(query);
    }
    out
}

/// `url` without its password, for messages.
fn redact(url: &str) -> String {
    let Some(scheme_end) = url.find("://").map(|i| i + 3) else {
        return url.to_owned();
    };
    let rest = &url[scheme_end..];
    let authority_end = rest.find(['/', '?']).unwrap_or(rest.len());
    match rest[..authority_end].rfind('@') {
        Some(at) => match rest[..at].find(':') {
            Some(colon) => format!(
                "{}{}:***{}",
                &url[..scheme_end],
                &rest[..colon],
                &rest[at..]
            ),
            None => url.to_owned(),
        },
        None => url.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn with_database_replaces_the_path_and_keeps_the_query() {
        assert_eq!(
            with_database("postgres://u:p@h:5432/postgres?sslmode=disable", "test_1"),
            "postgres://u:p@h:5432/test_1?sslmode=disable"
        );
        assert_eq!(with_database("postgres://h", "t"), "postgres://h/t");
        assert_eq!(
            with_database("postgresql://h:1/", "t"),
            "postgresql://h:1/t"
        );
    }

    #[test]
    fn redact_hides_the_password_only() {
        assert_eq!(redact("postgres://u:secret@h/db"), "postgres://u:***@h/db");
        assert_eq!(redact("postgres://u@h/db"), "postgres://u@h/db");
        assert_eq!(redact("postgres://h/db"), "postgres://h/db");
    }
}
