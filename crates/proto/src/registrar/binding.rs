//! Registrar bindings (RFC 3261 §10.3): which contacts an address-of-record is reachable
//! at, until when. Kept in memory for lookups and written to the database as
//! [`BindingChange`]s so they survive a restart.

use crate::transaction::Peer;

/// One binding of an address-of-record (an extension number) to a contact.
#[derive(Debug, Clone, PartialEq)]
pub struct Binding {
    /// The extension number the binding belongs to.
    pub aor: String,
    /// The contact URI as printed (`sip:201@192.0.2.10:5060;transport=udp`); bindings of
    /// one AOR are told apart by it (RFC 3261 §10.3 step 7, §19.1.4).
    pub contact: String,
    /// Wall-clock expiry, in seconds since the Unix epoch.
    pub expires_at: i64,
    /// Preference `q` in thousandths (`q=0.5` → 500), when the phone gave one.
    pub q: Option<u16>,
    pub call_id: String,
    pub cseq: u32,
    /// Where the REGISTER came from: requests to this contact go there (phones behind NAT).
    pub source: Peer,
    pub user_agent: Option<String>,
    /// `+sip.instance` (RFC 5626 §4.1), e.g. `"<urn:uuid:...>"`.
    pub instance: Option<String>,
    /// `reg-id` (RFC 5626 §4.2).
    pub reg_id: Option<u32>,
    /// When the binding was last refreshed, seconds since the Unix epoch.
    pub updated_at: i64,
}

impl Binding {
    /// Seconds left before the binding expires (0 once expired).
    pub fn remaining(&self, now_unix: i64) -> u32 {
        u32::try_from((self.expires_at - now_unix).max(0)).unwrap_or(u32::MAX)
    }
}

/// A change the registrar made to its bindings, to be written to the database.
#[derive(Debug, Clone, PartialEq)]
pub enum BindingChange {
    /// Insert or refresh a binding (keyed by AOR and contact).
    Upsert(Binding),
    /// Remove the binding of `aor` to `contact`.
    Remove { aor: String, contact: String },
    /// Remove every binding of `aor` (`Contact: *`).
    RemoveAll { aor: String },
}
