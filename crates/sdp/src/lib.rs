//! crossbar-sdp: SDP (RFC 4566) model and the offer/answer rewriting a media-relaying B2BUA does (RFC 3264), pure.
