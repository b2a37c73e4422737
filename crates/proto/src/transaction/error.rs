//! Errors of the transaction layer: [`InputError`] for a peer's message the layer cannot
//! place (normal traffic: log it and, if it is a request, maybe answer it statelessly), and
//! [`TransactionError`] for a TU call that does not fit the transaction's state.

use crossbar_sip::ParseError;

use super::key::{ClientKey, ServerKey, TransactionKey};
use super::{ClientState, ServerState};

/// A message from the network the transaction layer could not match or route. Nothing was
/// sent and no state changed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InputError {
    /// Without a top `Via` a request cannot be answered (§18.2.2) and a response cannot
    /// be matched (§17.1.3).
    #[error("no usable top Via: {0}")]
    Via(#[source] ParseError),
    #[error("bad CSeq: {0}")]
    CSeq(#[source] ParseError),
    #[error("bad From: {0}")]
    FromHeader(#[source] ParseError),
    #[error("bad To: {0}")]
    ToHeader(#[source] ParseError),
    #[error("missing Call-ID")]
    MissingCallId,
    #[error("status code {0} is outside 100-699")]
    Status(u16),
    /// The response's top `Via` names another sender than the one that sent the request;
    /// §18.1.2 says to discard it.
    #[error("response sent-by does not match the request's")]
    SentByMismatch,
}

/// A TU call the transaction layer refused. Nothing was sent.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TransactionError {
    /// The transaction has terminated (or never existed).
    #[error("no transaction {0}")]
    Unknown(TransactionKey),
    #[error("status code {0} is outside 100-699")]
    Status(u16),
    /// A response the server transaction's state does not accept (e.g. a second final).
    #[error("{key} is {state:?}: cannot send a {status} response")]
    ServerState {
        key: ServerKey,
        state: ServerState,
        status: u16,
    },
    /// An ACK is never a client transaction: the ACK for a non-2xx is sent by the INVITE
    /// transaction itself (§17.1.1.3), the ACK for a 2xx by the TU through
    /// [`super::Transactions::transmit`] (§13.2.2.4).
    #[error("ACK is not sent through a client transaction")]
    Ack,
    /// The request has no top `Via` for the branch (the TU writes its sent-by).
    #[error("request has no usable top Via: {0}")]
    Via(#[source] ParseError),
    #[error("request has a bad CSeq: {0}")]
    CSeq(#[source] ParseError),
    /// A client transaction with this branch and method exists already.
    #[error("branch {0} is already in use")]
    DuplicateBranch(String),
    /// CANCEL applies to an INVITE client transaction that has no final response (§9.1).
    #[error("{key} cannot be cancelled: {reason}")]
    NotCancellable {
        key: ClientKey,
        state: Option<ClientState>,
        reason: &'static str,
    },
}
