//! Finding carriers (RFC 3263 §4.2): a trunk's host name, when it has no port, is looked up
//! with SRV (`_sip._udp.host` / `_sip._tcp.host`) and its targets tried in priority order (and
//! by weight within a priority, RFC 2782), each target's A/AAAA records giving addresses;
//! without SRV records, or with a port, A/AAAA of the host itself (port 5060 by default).
//! NAPTR (§4.1) is not consulted: the transport is the trunk's configured one.
//!
//! One task per named trunk looks it up at start and again as the records' TTLs run out (at
//! least every 30 s, at most every 5 min), telling the engine each time the answer changes.
//! A lookup that fails keeps the addresses found before; a trunk never found is reported
//! with no addresses, so routing skips it and its status says why.

use std::net::{IpAddr, SocketAddr};
use std::time::{Duration, Instant};

use crossbar_config::{Trunk, TrunkTransport};
use hickory_resolver::TokioResolver;
use hickory_resolver::proto::rr::RData;
use tokio::sync::mpsc;

use crate::engine::Input;

const MIN_REFRESH: Duration = Duration::from_secs(30);
const MAX_REFRESH: Duration = Duration::from_secs(300);

/// Starts a lookup task for every trunk whose host is a name (not an IP address).
pub fn spawn(trunks: &[Trunk], engine: mpsc::Sender<Input>) {
    let named: Vec<Trunk> = trunks
        .iter()
        .filter(|t| t.host.trim_matches(['[', ']']).parse::<IpAddr>().is_err())
        .cloned()
        .collect();
    if named.is_empty() {
        return;
    }
    let resolver = match TokioResolver::builder_tokio() {
        Ok(builder) => match builder.build() {
            Ok(resolver) => resolver,
            Err(error) => {
                tracing::error!(%error, "DNS resolver could not start; named trunks stay unreachable");
                return;
            }
        },
        Err(error) => {
            tracing::error!(%error, "no DNS configuration (/etc/resolv.conf); named trunks stay unreachable");
            return;
        }
    };
    for trunk in named {
        tokio::spawn(follow(resolver.clone(), trunk, engine.clone()));
    }
}

/// Looks `trunk` up again and again, reporting changes.
async fn follow(resolver: TokioResolver, trunk: Trunk, engine: mpsc::Sender<Input>) {
    let mut known: Option<Vec<SocketAddr>> = None;
    loop {
        let wait = match locate(&resolver, &trunk).await {
            Ok((addresses, valid_until)) => {
                let ttl = valid_until.saturating_duration_since(Instant::now());
                if known.as_ref() != Some(&addresses) {
                    tracing::info!(trunk = %trunk.name, host = %trunk.host, ?addresses, "trunk located");
                    known = Some(addresses.clone());
                    let input = Input::TrunkResolved {
                        trunk: trunk.name.clone(),
                        addresses,
                    };
                    if engine.send(input).await.is_err() {
                        return;
                    }
                }
                ttl.clamp(MIN_REFRESH, MAX_REFRESH)
            }
            Err(error) => {
                tracing::warn!(trunk = %trunk.name, host = %trunk.host, %error, "trunk lookup failed");
                if known.is_none() {
                    known = Some(Vec::new());
                    let input = Input::TrunkResolved {
                        trunk: trunk.name.clone(),
                        addresses: Vec::new(),
                    };
                    if engine.send(input).await.is_err() {
                        return;
                    }
                }
                MIN_REFRESH
            }
        };
        tokio::time::sleep(wait).await;
    }
}

/// The trunk's addresses in the order to try them, and until when the answer holds.
async fn locate(
    resolver: &TokioResolver,
    trunk: &Trunk,
) -> Result<(Vec<SocketAddr>, Instant), String> {
    let host = trunk.host.trim_end_matches('.');
    if let Some(port) = trunk.port {
        return addresses_of(resolver, host, port).await;
    }
    let service = match trunk.transport {
        TrunkTransport::Udp => "_sip._udp",
        TrunkTransport::Tcp => "_sip._tcp",
    };
    let srv = resolver.srv_lookup(format!("{service}.{host}.")).await;
    let mut targets: Vec<(u16, u16, String, u16)> = match &srv {
        Ok(lookup) => lookup
            .answers()
            .iter()
            .filter_map(|record| match &record.data {
                RData::SRV(srv) => {
                    Some((srv.priority, srv.weight, srv.target.to_string(), srv.port))
                }
                _ => None,
            })
            // A target of "." says the service is not offered there (RFC 2782).
            .filter(|(_, _, target, _)| target != ".")
            .collect(),
        Err(_) => Vec::new(),
    };
    if targets.is_empty() {
        return addresses_of(resolver, host, 5060).await;
    }
    // Lowest priority first; within one, heavier weights first (a deterministic reading of
    // RFC 2782's weighted choice: one crossbar sends all its calls to one target anyway).
    targets.sort_by(|a, b| a.0.cmp(&b.0).then(b.1.cmp(&a.1)));
    let mut found = Vec::new();
    let mut valid_until = srv.as_ref().map_or_else(
        |_| Instant::now() + MIN_REFRESH,
        |lookup| lookup.valid_until(),
    );
    let mut last_error = None;
    for (_, _, target, port) in targets {
        match addresses_of(resolver, target.trim_end_matches('.'), port).await {
            Ok((addresses, until)) => {
                valid_until = valid_until.min(until);
                for address in addresses {
                    if !found.contains(&address) {
                        found.push(address);
                    }
                }
            }
            Err(error) => last_error = Some(error),
        }
    }
    if found.is_empty() {
        return Err(last_error.unwrap_or_else(|| "no address for any SRV target".into()));
    }
    Ok((found, valid_until))
}

/// A/AAAA of `host` on `port` (IPv4 first: most carriers' SIP is IPv4).
async fn addresses_of(
    resolver: &TokioResolver,
    host: &str,
    port: u16,
) -> Result<(Vec<SocketAddr>, Instant), String> {
    let lookup = resolver
        .lookup_ip(host)
        .await
        .map_err(|error| error.to_string())?;
    let mut addresses: Vec<SocketAddr> =
        lookup.iter().map(|ip| SocketAddr::new(ip, port)).collect();
    addresses.sort_by_key(|a| a.is_ipv6());
    if addresses.is_empty() {
        return Err(format!("{host} has no address"));
    }
    Ok((addresses, lookup.valid_until()))
}
