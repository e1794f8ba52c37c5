//! Classification of transport errors into the core's [`TransportErrorKind`] and the public
//! error kinds.

use std::error::Error as StdError;
use std::io;

use super::transport::{BoxError, DnsError};
use crate::core::TransportErrorKind;
use crate::error::{Error, Kind};

/// A failed attempt: how the core should treat it and how to present it if it ends the call.
#[derive(Debug)]
pub(crate) struct AttemptError {
    /// The failure kind reported to the core.
    pub(crate) transport: TransportErrorKind,
    /// The public kind of the error, if the call ends with it.
    pub(crate) kind: Kind,
    /// A lowercase phrase naming what failed.
    pub(crate) message: String,
    pub(crate) source: Option<BoxError>,
}

impl AttemptError {
    /// Creates an error that the core does not retry, such as a rejected redirect.
    pub(crate) fn fatal(kind: Kind, message: impl Into<String>) -> AttemptError {
        AttemptError {
            transport: TransportErrorKind::InvalidRequest,
            kind,
            message: message.into(),
            source: None,
        }
    }

    /// Classifies a hyper-util client error, from an attempt that had not yet received its
    /// response head.
    pub(crate) fn from_request(error: hyper_util::client::legacy::Error) -> AttemptError {
        let transport = classify(&error, error.is_connect());
        let message = describe_head_failure(transport, &error);
        AttemptError {
            transport,
            kind: public_kind(transport),
            message,
            source: Some(Box::new(error)),
        }
    }

    /// Classifies an error that ended a response body early.
    pub(crate) fn from_body(error: hyper::Error) -> AttemptError {
        let transport = classify(&error, false);
        let message = match transport {
            TransportErrorKind::Decode => "the response body is not valid HTTP framing".to_string(),
            _ => "the connection closed before the response body was complete".to_string(),
        };
        let kind = match transport {
            TransportErrorKind::Decode => Kind::Decode,
            _ => Kind::Body,
        };
        AttemptError {
            transport,
            kind,
            message,
            source: Some(Box::new(error)),
        }
    }

    /// Converts into the public error, without the request context.
    pub(crate) fn into_error(self) -> Error {
        let error = Error::new(self.kind, self.message);
        match self.source {
            Some(source) => error.with_source(source),
            None => error,
        }
    }
}

/// Returns the public kind of a call that ended with a transport failure of `kind`.
pub(crate) fn public_kind(kind: TransportErrorKind) -> Kind {
    match kind {
        TransportErrorKind::ConnectRefused
        | TransportErrorKind::Dns
        | TransportErrorKind::TlsHandshake
        | TransportErrorKind::TlsCertificate => Kind::Connect,
        TransportErrorKind::ConnectTimeout => Kind::Timeout(crate::core::TimeoutPhase::Connect),
        TransportErrorKind::Decode => Kind::Decode,
        TransportErrorKind::InvalidRequest => Kind::Builder,
        _ => Kind::Request,
    }
}

fn describe_head_failure(kind: TransportErrorKind, error: &(dyn StdError + 'static)) -> String {
    match kind {
        TransportErrorKind::ConnectRefused => "connection refused".to_string(),
        TransportErrorKind::Dns => match find::<DnsError>(error) {
            Some(dns) => format!("DNS resolution of {:?} failed", dns.host),
            None => "DNS resolution failed".to_string(),
        },
        TransportErrorKind::ConnectTimeout => "connect timed out".to_string(),
        TransportErrorKind::ConnectionReset => {
            "the connection closed before the response head arrived".to_string()
        }
        TransportErrorKind::TlsCertificate => match find::<rustls::Error>(error) {
            Some(tls) => format!("the server's TLS certificate was rejected ({tls})"),
            None => "the server's TLS certificate was rejected".to_string(),
        },
        TransportErrorKind::TlsHandshake => match find::<rustls::Error>(error) {
            Some(tls) => format!("the TLS handshake failed ({tls})"),
            None => "the TLS handshake failed".to_string(),
        },
        TransportErrorKind::Decode => "the response is not valid HTTP".to_string(),
        _ => match chain(error)
            .iter()
            .find_map(|e| e.downcast_ref::<hyper::Error>())
        {
            Some(hyper) if hyper.is_user() && hyper.source().is_some() => {
                let cause = hyper.source().map(ToString::to_string).unwrap_or_default();
                format!("the request body stream failed while it was being sent ({cause})")
            }
            _ => format!("the request failed ({error})"),
        },
    }
}

/// Walks the source chain of `error`, looking inside `io::Error`s too, whose `source()`
/// skips the error they wrap.
fn chain<'a>(error: &'a (dyn StdError + 'static)) -> Vec<&'a (dyn StdError + 'static)> {
    let mut links = Vec::new();
    let mut next = Some(error);
    // Bounded: a cycle in a hand-written `source()` must not hang the classifier.
    while let Some(current) = next.filter(|_| links.len() < 32) {
        links.push(current);
        next = match current.downcast_ref::<io::Error>() {
            Some(io) => io.get_ref().map(|inner| inner as &(dyn StdError + 'static)),
            None => current.source(),
        };
    }
    links
}

fn find<'a, T: StdError + 'static>(error: &'a (dyn StdError + 'static)) -> Option<&'a T> {
    chain(error).into_iter().find_map(|e| e.downcast_ref::<T>())
}

/// Classifies `error`. `connecting` is true when the failure happened while the connection
/// was being made, before any byte of the request was written.
pub(crate) fn classify(error: &(dyn StdError + 'static), connecting: bool) -> TransportErrorKind {
    let links = chain(error);
    for link in &links {
        if link.downcast_ref::<DnsError>().is_some() {
            return TransportErrorKind::Dns;
        }
        if let Some(tls) = link.downcast_ref::<rustls::Error>() {
            return match tls {
                rustls::Error::InvalidCertificate(_) => TransportErrorKind::TlsCertificate,
                _ => TransportErrorKind::TlsHandshake,
            };
        }
    }
    for link in &links {
        if let Some(io) = link.downcast_ref::<io::Error>() {
            if let Some(kind) = classify_io(io.kind(), connecting) {
                return kind;
            }
        }
        if let Some(hyper) = link.downcast_ref::<hyper::Error>() {
            return classify_hyper(hyper);
        }
    }
    if connecting {
        // The connection failed for a reason the chain does not name, such as a TLS stream
        // that closed mid-handshake. No request byte was written, but nothing proves it.
        return TransportErrorKind::ConnectionReset;
    }
    TransportErrorKind::Other
}

fn classify_io(kind: io::ErrorKind, connecting: bool) -> Option<TransportErrorKind> {
    match kind {
        io::ErrorKind::ConnectionRefused => Some(TransportErrorKind::ConnectRefused),
        io::ErrorKind::TimedOut if connecting => Some(TransportErrorKind::ConnectTimeout),
        io::ErrorKind::ConnectionReset
        | io::ErrorKind::ConnectionAborted
        | io::ErrorKind::BrokenPipe
        | io::ErrorKind::UnexpectedEof
        | io::ErrorKind::NotConnected
        | io::ErrorKind::TimedOut => Some(TransportErrorKind::ConnectionReset),
        io::ErrorKind::InvalidData if connecting => Some(TransportErrorKind::TlsHandshake),
        _ => None,
    }
}

fn classify_hyper(error: &hyper::Error) -> TransportErrorKind {
    if error.is_parse() || error.is_parse_status() {
        return TransportErrorKind::Decode;
    }
    if error.is_user() {
        // A user error with a source is the caller's request body stream failing mid-send:
        // bytes may have gone out, so it is no builder error, and it is not retried.
        if error.source().is_some() {
            return TransportErrorKind::Other;
        }
        return TransportErrorKind::InvalidRequest;
    }
    // Incomplete messages, closed channels, aborted body writes and HTTP/2 stream resets:
    // the connection went away mid-exchange.
    TransportErrorKind::ConnectionReset
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fmt;

    #[derive(Debug)]
    struct Wrapper(Box<dyn StdError + Send + Sync>);

    impl fmt::Display for Wrapper {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("wrapper")
        }
    }

    impl StdError for Wrapper {
        fn source(&self) -> Option<&(dyn StdError + 'static)> {
            Some(&*self.0)
        }
    }

    fn wrapped(inner: impl StdError + Send + Sync + 'static) -> Wrapper {
        Wrapper(Box::new(inner))
    }

    #[test]
    fn refused_inside_wrapper() {
        let io = io::Error::new(io::ErrorKind::ConnectionRefused, "refused");
        assert_eq!(
            classify(&wrapped(io), true),
            TransportErrorKind::ConnectRefused
        );
    }

    #[test]
    fn timeout_while_connecting() {
        let io = io::Error::new(io::ErrorKind::TimedOut, "connect timeout");
        assert_eq!(
            classify(&wrapped(io), true),
            TransportErrorKind::ConnectTimeout
        );
    }

    #[test]
    fn dns_error_found_in_chain() {
        let dns = DnsError {
            host: "example.invalid".into(),
            source: io::Error::other("no such host"),
        };
        let error = wrapped(io::Error::other(dns));
        assert_eq!(classify(&error, true), TransportErrorKind::Dns);
    }

    #[test]
    fn certificate_error_inside_io() {
        let tls = rustls::Error::InvalidCertificate(rustls::CertificateError::UnknownIssuer);
        let error = wrapped(io::Error::new(io::ErrorKind::InvalidData, tls));
        assert_eq!(classify(&error, true), TransportErrorKind::TlsCertificate);
    }

    #[test]
    fn other_tls_error_is_handshake() {
        let tls = rustls::Error::HandshakeNotComplete;
        let error = wrapped(io::Error::new(io::ErrorKind::InvalidData, tls));
        assert_eq!(classify(&error, true), TransportErrorKind::TlsHandshake);
    }

    #[test]
    fn reset_mid_body() {
        let io = io::Error::new(io::ErrorKind::ConnectionReset, "reset");
        assert_eq!(
            classify(&wrapped(io), false),
            TransportErrorKind::ConnectionReset
        );
    }

    #[test]
    fn unknown_error_is_other() {
        let io = io::Error::other("strange");
        assert_eq!(classify(&wrapped(io), false), TransportErrorKind::Other);
    }

    #[test]
    fn public_kinds() {
        assert_eq!(
            public_kind(TransportErrorKind::ConnectRefused),
            Kind::Connect
        );
        assert_eq!(
            public_kind(TransportErrorKind::ConnectTimeout),
            Kind::Timeout(crate::core::TimeoutPhase::Connect)
        );
        assert_eq!(
            public_kind(TransportErrorKind::ConnectionReset),
            Kind::Request
        );
        assert_eq!(public_kind(TransportErrorKind::Decode), Kind::Decode);
    }
}
