//! The registrar (RFC 3261 §10.3): REGISTER processing, sans-IO.
//!
//! The caller authenticates the request and checks that the user may change the
//! address-of-record (digest, §10.3 steps 3–4), then the registrar applies the contacts
//! (steps 5–7) and answers with every current binding (step 8). It keeps bindings in memory for lookups and returns the changes it made
//! so the binary can write them to the database; time is always passed in.

mod binding;
mod date;

use std::collections::HashMap;

use crossbar_sip::{Contact, HeaderName, Request, Response, Uri};

pub use binding::{Binding, BindingChange};

use crate::transaction::Peer;

/// Registration limits (from the configuration's `[registrar]` table).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RegistrarSettings {
    /// Shortest non-zero expiry accepted; shorter ones get 423 (§10.3 step 7).
    pub min_expires: u32,
    /// Longest expiry granted; longer requests are shortened to this.
    pub max_expires: u32,
    /// Expiry when the request names none.
    pub default_expires: u32,
    /// Most contacts one extension may have registered at once.
    pub max_contacts: usize,
}

impl Default for RegistrarSettings {
    fn default() -> RegistrarSettings {
        RegistrarSettings {
            min_expires: 60,
            max_expires: 3600,
            default_expires: 3600,
            max_contacts: 10,
        }
    }
}

/// What a REGISTER produced: the response to send and the changes to persist.
#[derive(Debug)]
pub struct Registration {
    pub response: Response,
    pub changes: Vec<BindingChange>,
}

/// The bindings of every extension, and the rules that change them.
#[derive(Debug, Default)]
pub struct Registrar {
    settings: RegistrarSettings,
    bindings: HashMap<String, Vec<Binding>>,
}

impl Registrar {
    pub fn new(settings: RegistrarSettings) -> Registrar {
        Registrar {
            settings,
            bindings: HashMap::new(),
        }
    }

    pub fn settings(&self) -> RegistrarSettings {
        self.settings
    }

    /// Loads bindings read back from the database at start (expired ones are skipped).
    pub fn restore(&mut self, now_unix: i64, bindings: impl IntoIterator<Item = Binding>) {
        for binding in bindings {
            if binding.expires_at > now_unix {
                self.bindings
                    .entry(binding.aor.clone())
                    .or_default()
                    .push(binding);
            }
        }
    }

    /// The address-of-record a REGISTER is about: the user part of its `To` URI, which must
    /// be a SIP or SIPS URI (§10.3 step 5; RFC 4475 §3.3.4 `unksm2`). Checked before
    /// authentication, so a malformed request gets 400 rather than a challenge.
    pub fn address_of_record(request: &Request) -> Result<String, Response> {
        let to = request
            .headers
            .to()
            .map_err(|_| bad_request(request, "Malformed To"))?;
        let Uri::Sip(uri) = &to.uri else {
            return Err(bad_request(request, "AOR must be a SIP URI"));
        };
        let user = uri
            .user
            .as_deref()
            .ok_or_else(|| bad_request(request, "AOR has no user part"))?;
        Ok(percent_decode(user))
    }

    /// Processes an authenticated and authorized REGISTER for `aor` (§10.3 steps 5–8).
    /// `max_contacts` is the extension's own limit when it has one.
    pub fn register(
        &mut self,
        now_unix: i64,
        request: &Request,
        source: Peer,
        aor: &str,
        max_contacts: Option<usize>,
    ) -> Registration {
        match self.apply(now_unix, request, source, aor, max_contacts) {
            Ok(changes) => Registration {
                response: self.ok_response(now_unix, request, aor),
                changes,
            },
            Err(response) => Registration {
                response,
                changes: Vec::new(),
            },
        }
    }

    /// The live bindings of `aor`, most preferred (highest `q`) first.
    pub fn contacts(&self, aor: &str, now_unix: i64) -> Vec<&Binding> {
        let mut live: Vec<&Binding> = self
            .bindings
            .get(aor)
            .into_iter()
            .flatten()
            .filter(|b| b.expires_at > now_unix)
            .collect();
        live.sort_by_key(|b| std::cmp::Reverse(b.q.unwrap_or(1000)));
        live
    }

    /// Number of live bindings, all extensions together.
    pub fn binding_count(&self) -> usize {
        self.bindings.values().map(Vec::len).sum()
    }

    /// Forgets expired bindings and returns their removals for the database.
    pub fn expire(&mut self, now_unix: i64) -> Vec<BindingChange> {
        let mut removed = Vec::new();
        self.bindings.retain(|_, list| {
            list.retain(|b| {
                let live = b.expires_at > now_unix;
                if !live {
                    removed.push(BindingChange::Remove {
                        aor: b.aor.clone(),
                        contact: b.contact.clone(),
                    });
                }
                live
            });
            !list.is_empty()
        });
        removed
    }

    fn apply(
        &mut self,
        now_unix: i64,
        request: &Request,
        source: Peer,
        aor: &str,
        max_contacts: Option<usize>,
    ) -> Result<Vec<BindingChange>, Response> {
        let call_id = request
            .headers
            .call_id()
            .ok_or_else(|| bad_request(request, "Missing Call-ID"))?
            .to_owned();
        let cseq = request
            .headers
            .cseq()
            .map_err(|_| bad_request(request, "Malformed CSeq"))?
            .seq;
        let header_expires = request.headers.get(&HeaderName::Expires).map(parse_delta);

        let contacts = match request.headers.contact() {
            Ok(None) => return Ok(Vec::new()), // a query: step 8 lists the bindings
            Ok(Some(contact)) => contact,
            Err(_) => return Err(bad_request(request, "Malformed Contact")),
        };
        let contacts = match contacts {
            // Step 6: `*` only with Expires: 0 and as the only Contact.
            Contact::Star => {
                let single = request.headers.count(&HeaderName::Contact) == 1;
                if header_expires != Some(0) || !single {
                    return Err(bad_request(request, "Contact * needs Expires: 0"));
                }
                return Ok(self.remove_all(aor, &call_id, cseq));
            }
            Contact::Addresses(list) => list,
        };

        // Step 7, first pass: work out every contact's expiry; reject the whole request
        // before changing anything.
        let mut wanted = Vec::with_capacity(contacts.len());
        for contact in &contacts {
            let expires = contact
                .params
                .value("expires")
                .map(parse_delta)
                .or(header_expires)
                .unwrap_or(self.settings.default_expires);
            if expires != 0 && expires < self.settings.min_expires {
                let mut response = request.response(423);
                response.headers.push(
                    HeaderName::MinExpires,
                    self.settings.min_expires.to_string(),
                );
                return Err(response);
            }
            wanted.push((contact, expires.min(self.settings.max_expires)));
        }

        let user_agent = request
            .headers
            .get(&HeaderName::UserAgent)
            .map(str::to_owned);
        let list = self.bindings.entry(aor.to_owned()).or_default();
        list.retain(|b| b.expires_at > now_unix);
        let mut changes = Vec::new();
        for (contact, expires) in wanted {
            let uri = contact.uri.to_string();
            let instance = contact.params.value("+sip.instance").map(str::to_owned);
            let reg_id = contact.params.value("reg-id").and_then(|v| v.parse().ok());
            let existing = list.iter().position(|b| {
                b.contact == uri
                    || (instance.is_some() && b.instance == instance && b.reg_id == reg_id)
            });
            if let Some(index) = existing {
                let old = &list[index];
                if old.call_id == call_id && cseq <= old.cseq {
                    return Err(with_reason(request.response(500), "Out of Order CSeq"));
                }
                let old = list.remove(index);
                if old.contact != uri {
                    changes.push(BindingChange::Remove {
                        aor: aor.to_owned(),
                        contact: old.contact,
                    });
                }
            }
            if expires == 0 {
                changes.push(BindingChange::Remove {
                    aor: aor.to_owned(),
                    contact: uri,
                });
                continue;
            }
            let binding = Binding {
                aor: aor.to_owned(),
                contact: uri,
                expires_at: now_unix + i64::from(expires),
                q: contact.params.value("q").and_then(parse_q),
                call_id: call_id.clone(),
                cseq,
                source,
                user_agent: user_agent.clone(),
                instance,
                reg_id,
                updated_at: now_unix,
            };
            changes.push(BindingChange::Upsert(binding.clone()));
            list.push(binding);
        }

        // Over the limit: the bindings that would expire first make room (a phone that
        // changed address leaves its old binding behind until it expires).
        let limit = max_contacts.unwrap_or(self.settings.max_contacts).max(1);
        while list.len() > limit {
            let oldest = list
                .iter()
                .enumerate()
                .min_by_key(|(_, b)| (b.updated_at, b.expires_at))
                .map(|(i, _)| i)
                .expect("invariant: a list longer than its limit is not empty");
            let evicted = list.remove(oldest);
            changes.push(BindingChange::Remove {
                aor: evicted.aor,
                contact: evicted.contact,
            });
        }
        if list.is_empty() {
            self.bindings.remove(aor);
        }
        Ok(changes)
    }

    fn remove_all(&mut self, aor: &str, call_id: &str, cseq: u32) -> Vec<BindingChange> {
        // §10.3 step 6: bindings from the same Call-ID with a higher CSeq are kept.
        let Some(list) = self.bindings.get_mut(aor) else {
            return vec![BindingChange::RemoveAll {
                aor: aor.to_owned(),
            }];
        };
        list.retain(|b| b.call_id == call_id && b.cseq >= cseq);
        if list.is_empty() {
            self.bindings.remove(aor);
            vec![BindingChange::RemoveAll {
                aor: aor.to_owned(),
            }]
        } else {
            // Rare: keep the newer ones and rewrite the set.
            let kept = list.clone();
            let mut changes = vec![BindingChange::RemoveAll {
                aor: aor.to_owned(),
            }];
            changes.extend(kept.into_iter().map(BindingChange::Upsert));
            changes
        }
    }

    /// Step 8: 200 listing every current binding with the seconds it has left.
    fn ok_response(&self, now_unix: i64, request: &Request, aor: &str) -> Response {
        let mut response = request.response(200);
        for binding in self.contacts(aor, now_unix) {
            let mut value = format!(
                "<{}>;expires={}",
                binding.contact,
                binding.remaining(now_unix)
            );
            if let Some(q) = binding.q {
                value.push_str(&format!(";q={}.{:03}", q / 1000, q % 1000));
            }
            response.headers.push(HeaderName::Contact, value);
        }
        response
            .headers
            .push(HeaderName::Date, date::http_date(now_unix));
        response
    }
}

/// A `delta-seconds` value (§25.1); values past 2^32-1 are taken as the largest
/// (RFC 4475 §3.1.2.4 says an overlarge Expires may be treated as a large one).
fn parse_delta(value: &str) -> u32 {
    let digits = value.trim();
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return 0;
    }
    digits.parse().unwrap_or(u32::MAX)
}

/// `q` (§20.10): 0 to 1 with up to three decimals, in thousandths.
fn parse_q(value: &str) -> Option<u16> {
    let (whole, fraction) = value.split_once('.').unwrap_or((value, ""));
    if fraction.len() > 3 || !fraction.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let whole: u16 = whole.parse().ok()?;
    let mut thousandths = 0u16;
    for (i, digit) in fraction.bytes().enumerate() {
        thousandths += u16::from(digit - b'0') * [100, 10, 1][i];
    }
    let q = whole.checked_mul(1000)? + thousandths;
    (q <= 1000).then_some(q)
}

/// Unescapes `%HH` in a URI user part (§19.1.2); the result is compared to extension
/// numbers, so `%00` stays a NUL character rather than ending the string.
fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = |b: u8| char::from(b).to_digit(16);
        let escaped = (bytes[i] == b'%')
            .then(|| {
                let hi = bytes.get(i + 1).copied().and_then(hex)?;
                let lo = bytes.get(i + 2).copied().and_then(hex)?;
                u8::try_from(hi * 16 + lo).ok()
            })
            .flatten();
        if let Some(byte) = escaped {
            out.push(byte);
            i += 3;
            continue;
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn bad_request(request: &Request, reason: &str) -> Response {
    with_reason(request.response(400), reason)
}

/// The response with its reason phrase replaced.
pub fn with_reason(mut response: Response, reason: &str) -> Response {
    reason.clone_into(&mut response.reason);
    response
}
