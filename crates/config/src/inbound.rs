//! Incoming calls: `[[inbound_route]]` (which destination a call from a trunk goes to, by the
//! number called and who calls), `[inbound]` (the blocklist and what a blocked caller hears),
//! `[[time_condition]]`, `[[ivr]]`, `[[ring_group]]` and `[prompts]`.

use std::fmt;
use std::path::{Path, PathBuf};

use crate::destination::{Destination, Escalation};
use crate::hours::WeeklyHours;

/// Numbers a route or the blocklist matches, written `+442079460000` (exact), `+4420794600*`
/// (prefix) or `+442079460000-+442079460099` (a range of numbers of the same length). DIDs
/// and callers are compared in E.164 (`+` and digits), after normalisation.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum NumberPattern {
    Exact(String),
    Prefix(String),
    Range { from: String, to: String },
}

impl NumberPattern {
    /// Whether `number` (E.164, `+` and digits) is one the pattern stands for: equal, starting
    /// with the prefix, or of the range's length and between its ends. Anything but `+` and
    /// digits matches nothing.
    pub fn matches(&self, number: &str) -> bool {
        let e164 = number
            .strip_prefix('+')
            .is_some_and(|digits| !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()));
        if !e164 {
            return false;
        }
        match self {
            NumberPattern::Exact(exact) => number == exact,
            NumberPattern::Prefix(prefix) => number.starts_with(prefix.as_str()),
            NumberPattern::Range { from, to } => {
                // Same length and digits only: the text orders like the numbers.
                number.len() == from.len() && from.as_str() <= number && number <= to.as_str()
            }
        }
    }
}

impl fmt::Display for NumberPattern {
    /// As written in the file: `+442079460000`, `+44900*`, `+442079460200-+442079460299`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            NumberPattern::Exact(number) => f.write_str(number),
            NumberPattern::Prefix(prefix) => write!(f, "{prefix}*"),
            NumberPattern::Range { from, to } => write!(f, "{from}-{to}"),
        }
    }
}

/// One `[[inbound_route]]`. Routes are tried in file order; the first whose trunks, DIDs and
/// callers all accept the call takes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InboundRoute {
    /// Unique, for logs, records, reports and `route explain`.
    pub name: String,
    /// The trunks it takes calls from; empty: any trunk.
    pub trunks: Vec<String>,
    /// The numbers called (DIDs); empty: any.
    pub dids: Vec<NumberPattern>,
    /// The callers; empty: any (anonymous ones included unless `anonymous = false`).
    pub callers: Vec<NumberPattern>,
    /// `Some(true)`: only callers who withhold their number; `Some(false)`: only those who
    /// do not; `None`: either.
    pub anonymous: Option<bool>,
    pub destination: Destination,
    /// The prompt set (`[prompts]` language) the call's menus speak.
    pub language: Option<String>,
    /// Callers of this route are marked VIP on the call (queues serve them first).
    pub vip: bool,
}

/// The `[inbound]` section.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Inbound {
    /// Callers refused before any route (more can be added through the API, kept in the
    /// database).
    pub blocklist: Vec<NumberPattern>,
    /// What a blocked caller gets: 403 (default), 486, 603...
    pub blocked_status: u16,
}

impl Default for Inbound {
    fn default() -> Self {
        Inbound {
            blocklist: Vec::new(),
            blocked_status: 403,
        }
    }
}

/// Where a trunk's INVITE carries the number called.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub enum DidSource {
    /// The Request-URI's user part (the default).
    #[default]
    RequestUri,
    /// The `To` header's user part.
    To,
    /// A header (e.g. `P-Called-Party-ID`, `Diversion`): its first URI's user part.
    Header(String),
}

impl fmt::Display for DidSource {
    /// As written in the file: `request_uri`, `to`, `header:P-Called-Party-ID`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DidSource::RequestUri => f.write_str("request_uri"),
            DidSource::To => f.write_str("to"),
            DidSource::Header(name) => write!(f, "header:{name}"),
        }
    }
}

/// A calendar date in `[site] timezone`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct CivilDate {
    pub year: i16,
    pub month: u8,
    pub day: u8,
}

impl fmt::Display for CivilDate {
    /// `2026-12-25`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:04}-{:02}-{:02}", self.year, self.month, self.day)
    }
}

/// A day the business is closed (or has other hours): `2026-12-25`, a range
/// `2026-12-24..2026-12-31` (both days included), or every year `12-25`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Holiday {
    Date(CivilDate),
    Range { from: CivilDate, to: CivilDate },
    Yearly { month: u8, day: u8 },
}

impl Holiday {
    /// Whether the business is closed on `date` for this holiday.
    pub fn contains(&self, date: CivilDate) -> bool {
        match *self {
            Holiday::Date(day) => day == date,
            Holiday::Range { from, to } => from <= date && date <= to,
            Holiday::Yearly { month, day } => date.month == month && date.day == day,
        }
    }
}

impl fmt::Display for Holiday {
    /// As written in the file: `2026-12-25`, `2026-12-24..2026-12-31`, `12-25`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Holiday::Date(date) => write!(f, "{date}"),
            Holiday::Range { from, to } => write!(f, "{from}..{to}"),
            Holiday::Yearly { month, day } => write!(f, "{month:02}-{day:02}"),
        }
    }
}

/// A dated exception to the weekly hours: on `date`, open exactly during `hours` (empty:
/// closed all day). Exceptions win over holidays and weekly hours.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DatedHours {
    pub date: CivilDate,
    /// Times of day (the days of these spans are ignored).
    pub hours: Vec<WeeklyHours>,
}

/// One `[[time_condition]]`: open during `open` (local time in `[site] timezone`), except on
/// holidays (closed) and dated exceptions; a manual override (force open or closed, kept in
/// the database) wins over everything until it is cleared.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TimeCondition {
    pub name: String,
    pub open: Vec<WeeklyHours>,
    pub holidays: Vec<Holiday>,
    pub exceptions: Vec<DatedHours>,
    pub when_open: Destination,
    pub when_closed: Destination,
}

/// A prompt: a name in the call's prompt set (`greeting` is
/// `{[prompts] dir}/{language}/greeting.wav`, see [`Prompts::path`]), or a path to a `.wav`
/// file (written relative to the configuration file's directory, held resolved against it).
///
/// A value with a `/` or ending in `.wav` is a file; anything else is a name (letters,
/// digits, `-`, `_`, `.`).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum PromptRef {
    Named(String),
    File(PathBuf),
}

/// One `[[ivr]]` menu.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ivr {
    pub name: String,
    /// Played on entry (and again on each retry).
    pub prompt: PromptRef,
    /// Where each key takes the caller: `0`–`9`, `*`, `#`.
    pub options: Vec<(char, Destination)>,
    /// Whether an extension's number dialled in the menu rings it.
    pub direct_dial: bool,
    /// Seconds to wait for a key after the prompt ends.
    pub timeout_secs: u32,
    /// Seconds allowed between the digits of an extension number (direct dial).
    pub digit_timeout_secs: u32,
    /// Times the menu is replayed after a timeout or an invalid key.
    pub retries: u32,
    pub invalid_prompt: Option<PromptRef>,
    pub timeout_prompt: Option<PromptRef>,
    /// Where the caller goes after the last retry (default: `hangup`).
    pub on_failure: Destination,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RingStrategy {
    /// Every member at once; the first to answer takes the call.
    RingAll,
    /// Members one after the other in the order listed, each for `ring_secs`.
    Hunt,
    /// Like hunt, starting after the member that was rung first last time (remembered across
    /// restarts).
    RoundRobin,
    /// Members one after the other in a random order.
    Random,
}

impl RingStrategy {
    pub const ALL: [RingStrategy; 4] = [
        RingStrategy::RingAll,
        RingStrategy::Hunt,
        RingStrategy::RoundRobin,
        RingStrategy::Random,
    ];

    /// As written in the file: `ring_all`, `hunt`, `round_robin`, `random`.
    pub fn as_str(self) -> &'static str {
        match self {
            RingStrategy::RingAll => "ring_all",
            RingStrategy::Hunt => "hunt",
            RingStrategy::RoundRobin => "round_robin",
            RingStrategy::Random => "random",
        }
    }
}

/// A member of a ring group.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Member {
    /// An extension, by number.
    Extension(String),
    /// An outside number (E.164), rung through the outbound routes.
    External(String),
}

impl fmt::Display for Member {
    /// As written in `members`: the extension's number, or the external number.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Member::Extension(number) | Member::External(number) => f.write_str(number),
        }
    }
}

/// One `[[ring_group]]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RingGroup {
    pub name: String,
    pub strategy: RingStrategy,
    pub members: Vec<Member>,
    /// Seconds each member rings (hunt, round robin, random); with `ring_all`, how long all
    /// ring together.
    pub ring_secs: u32,
    /// Members already on a call are passed over (default true).
    pub skip_busy: bool,
    /// External members see the inbound caller's number as caller ID when the class allows
    /// it (else the route's caller ID).
    pub present_caller: bool,
    /// The class of service external members are called with (default: the first class that
    /// allows the destination; none: external members are skipped).
    pub class: Option<String>,
    /// After the members: `on_no_answer`, `on_busy`, `on_unavailable`.
    pub escalation: Escalation,
}

/// The `[prompts]` section.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Prompts {
    /// The directory of prompt sets, one subdirectory per language (`prompts/en/`), relative
    /// to the configuration file's directory.
    pub dir: PathBuf,
    /// The language of calls whose route names none.
    pub default_language: String,
}

impl Prompts {
    /// The file of the prompt `name` in `language`: `{dir}/{language}/{name}.wav`.
    pub fn path(&self, language: &str, name: &str) -> PathBuf {
        self.dir.join(language).join(format!("{name}.wav"))
    }

    /// The file a prompt reference plays in `language`.
    pub fn file<'p>(&self, language: &str, prompt: &'p PromptRef) -> std::borrow::Cow<'p, Path> {
        match prompt {
            PromptRef::Named(name) => std::borrow::Cow::Owned(self.path(language, name)),
            PromptRef::File(path) => std::borrow::Cow::Borrowed(path),
        }
    }
}
