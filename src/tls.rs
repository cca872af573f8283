//! TLS for https: one rustls client configuration for every Agent, trusting the built-in roots
//! and the system's, or the certificates of `--cacert`, and offering the client certificate of
//! `--cert` to servers that ask for one; and the link of the connector chain that wraps a
//! connection in it.
//!
//! Why not ureq's link: its verifier is webpki's alone, which refuses a server whose own
//! certificate is a CA certificate (basicConstraints CA:TRUE, what `openssl req -x509` makes by
//! default) even when `--cacert` names that very certificate. curl with OpenSSL, and wget,
//! accept it: a certificate the user handed over is trusted as it is. [`Verifier`] does the
//! same, and still checks its validity period and the server's name.

use std::fmt;
use std::io::{self, Read, Write};
use std::sync::{Arc, OnceLock};

use rustls::client::WebPkiServerVerifier;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{
    CertificateError, ClientConfig, ClientConnection, DigitallySignedStruct, RootCertStore,
    SignatureScheme, StreamOwned,
};
use ureq::Error;
use ureq::unversioned::transport::time::{Duration, Instant};
use ureq::unversioned::transport::{
    Buffers, ConnectionDetails, Connector, Either, NextTimeout, Transport, TransportAdapter,
};

use crate::identity::Identity;
use crate::trace;
use crate::transport::{self, GrowingBuffers};

/// The TLS link of the connector chain: wraps the connection below it when the URL is https
/// (unless it is TLS already), as ureq's rustls link does.
#[derive(Clone)]
pub struct Tls {
    /// Made when the first https URL is read (see [`Tls::ready`]) when the roots are the
    /// default ones (reading the system's store takes milliseconds a run of plain http need
    /// not spend), at once for `--cacert` (whose errors stop the run before it starts).
    config: Arc<OnceLock<Arc<ClientConfig>>>,
}

impl fmt::Debug for Tls {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Tls").finish_non_exhaustive()
    }
}

impl Tls {
    /// TLS for a run: `cacert` replaces the default roots, and `identity` is offered to
    /// servers that ask for a client certificate. With either, the configuration is made at
    /// once, so a key that does not fit its certificate stops the run before it starts.
    pub fn new(
        cacert: Option<Cacert>,
        identity: Option<Identity>,
        versions: Versions,
    ) -> Result<Self, String> {
        let config = OnceLock::new();
        if cacert.is_some() || identity.is_some() || versions != Versions::default() {
            let (roots, pinned) = match cacert {
                Some(cacert) => (cacert.roots, cacert.certs),
                None => (default_roots(), Vec::new()),
            };
            let _ = config.set(client_config(roots, pinned, identity.as_ref(), versions)?);
        }
        Ok(Self {
            config: Arc::new(config),
        })
    }

    /// Makes the configuration now if it is not made yet. The input thread calls it for every
    /// https URL it reads, so the default roots are read before the first such fetch starts:
    /// read by the first worker to connect instead, while the other workers waited for them,
    /// 2,000 small https files took 0.192 against 0.175 s (10 interleaved runs).
    pub fn ready(&self) {
        if self.config.get().is_none() {
            self.config();
        }
    }

    fn config(&self) -> Arc<ClientConfig> {
        let config = self.config.get_or_init(|| {
            client_config(default_roots(), Vec::new(), None, Versions::default())
                .unwrap_or_else(|e| panic!("the default roots make no TLS configuration: {e}"))
        });
        Arc::clone(config)
    }
}

/// The certificates of a `--cacert` PEM file: the roots to trust, and each also trusted as a
/// server's own.
pub struct Cacert {
    roots: RootCertStore,
    certs: Vec<CertificateDer<'static>>,
}

impl Cacert {
    /// The certificates of a PEM file (`--cacert`); an error when it cannot be read or holds
    /// none. Blocks that are not certificates, or do not parse, are passed over.
    pub fn read_file(path: &std::path::Path) -> Result<Vec<CertificateDer<'static>>, String> {
        let pem = std::fs::read(path).map_err(|e| e.to_string())?;
        let certs: Vec<_> = (CertificateDer::pem_slice_iter(&pem))
            .filter_map(Result::ok)
            .collect();
        if certs.is_empty() {
            return Err("no PEM certificate in the file".into());
        }
        Ok(certs)
    }

    /// The certificates of every PEM file in a folder (`--capath`, as OpenSSL's `c_rehash`
    /// folders and `/etc/ssl/certs` hold them: a file each, and links to them by hash), each
    /// once; files that hold none are passed over. An error when the folder cannot be read or
    /// no file in it holds a certificate.
    pub fn read_dir(path: &std::path::Path) -> Result<Vec<CertificateDer<'static>>, String> {
        let mut certs: Vec<CertificateDer<'static>> = Vec::new();
        let entries = std::fs::read_dir(path).map_err(|e| e.to_string())?;
        let mut names: Vec<_> = entries.filter_map(Result::ok).map(|e| e.path()).collect();
        // In name order, so that the same folder gives the same store on every run.
        names.sort();
        for file in names.iter().filter(|p| p.is_file()) {
            for cert in Self::read_file(file).unwrap_or_default() {
                if !certs.contains(&cert) {
                    certs.push(cert);
                }
            }
        }
        if certs.is_empty() {
            return Err("no file in the folder holds a PEM certificate".into());
        }
        Ok(certs)
    }

    /// The roots to trust from these certificates; an error when none can serve as a root.
    pub fn from_certs(certs: Vec<CertificateDer<'static>>) -> Result<Self, String> {
        let mut roots = RootCertStore::empty();
        let (added, _) = roots.add_parsable_certificates(certs.iter().cloned());
        if added == 0 {
            return Err("no certificate in it can serve as a root".into());
        }
        Ok(Self { roots, certs })
    }
}

/// The default roots: Mozilla's list, built in (webpki-roots), and the system's store, as
/// curl and wget trust it, so that a private CA installed there (a company's) is trusted
/// without `--cacert`. The store is where OpenSSL looks for it, or where `SSL_CERT_FILE` and
/// `SSL_CERT_DIR` say (rustls-native-certs); a certificate in it that does not parse is
/// skipped, and a machine without one has the built-in list.
fn default_roots() -> RootCertStore {
    let mut store = RootCertStore {
        roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
    };
    store.add_parsable_certificates(rustls_native_certs::load_native_certs().certs);
    store
}

/// The TLS versions a run may agree on: 1.2 and 1.3 by default (rustls has no older ones),
/// or one of them (`--tls-min 1.3`, curl's `--tlsv1.3`; `--tls-max 1.2`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Versions {
    pub tls12: bool,
    pub tls13: bool,
}

impl Default for Versions {
    fn default() -> Self {
        Self {
            tls12: true,
            tls13: true,
        }
    }
}

impl Versions {
    /// From the lowest and highest versions allowed; an error when none is left.
    pub fn between(min: Option<Version>, max: Option<Version>) -> Result<Self, String> {
        let (min, max) = (min.unwrap_or(Version::V12), max.unwrap_or(Version::V13));
        if min > max {
            return Err(format!(
                "no TLS version is at least {min} and at most {max}"
            ));
        }
        Ok(Self {
            tls12: min == Version::V12,
            tls13: max == Version::V13,
        })
    }
}

/// A TLS version as `--tls-min` and `--tls-max` take one: `1.2`, or as aria2c (`TLSv1.2`) and
/// wget (`TLSv1_2`) spell it; wget's `auto` is the lowest.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Version {
    V12,
    V13,
}

impl fmt::Display for Version {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Version::V12 => "TLS 1.2",
            Version::V13 => "TLS 1.3",
        })
    }
}

/// Parses a TLS version (see [`Version`]).
pub fn parse_version(text: &str) -> Result<Version, String> {
    let bare = text.trim().to_ascii_lowercase();
    let bare = bare
        .trim_start_matches("tlsv")
        .trim_start_matches("tls")
        .replace('_', ".");
    match bare.as_str() {
        "1.2" | "auto" => Ok(Version::V12),
        "1.3" => Ok(Version::V13),
        "1" | "1.0" | "1.1" => Err(format!(
            "{text}: TLS before 1.2 is not offered (rustls has none; servers and browsers have \
             dropped it)"
        )),
        _ => Err(format!("`{text}` is not a TLS version (1.2 or 1.3)")),
    }
}

fn client_config(
    roots: RootCertStore,
    pinned: Vec<CertificateDer<'static>>,
    identity: Option<&Identity>,
    versions: Versions,
) -> Result<Arc<ClientConfig>, String> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let webpki = WebPkiServerVerifier::builder_with_provider(Arc::new(roots), provider.clone())
        .build()
        .map_err(|e| e.to_string())?;
    let allowed: Vec<&'static rustls::SupportedProtocolVersion> = [
        (versions.tls12, &rustls::version::TLS12),
        (versions.tls13, &rustls::version::TLS13),
    ]
    .into_iter()
    .filter_map(|(on, version)| on.then_some(version))
    .collect();
    let builder = ClientConfig::builder_with_provider(provider)
        .with_protocol_versions(&allowed)
        .map_err(|e| e.to_string())?
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(Verifier { webpki, pinned }));
    let config = match identity {
        Some(identity) => builder
            .with_client_auth_cert(identity.chain.clone(), identity.key.clone_key())
            .map_err(|e| format!("the key cannot be used with the certificate: {e}"))?,
        None => builder.with_no_client_auth(),
    };
    Ok(Arc::new(config))
}

/// webpki's verification, and one exception: a CA certificate the user gave in `--cacert`
/// serving as the server's own.
#[derive(Debug)]
struct Verifier {
    webpki: Arc<WebPkiServerVerifier>,
    /// The certificates of `--cacert`, compared byte for byte with the server's.
    pinned: Vec<CertificateDer<'static>>,
}

impl ServerCertVerifier for Verifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        let verdict = self.webpki.verify_server_cert(
            end_entity,
            intermediates,
            server_name,
            ocsp_response,
            now,
        );
        match verdict {
            Err(rustls::Error::InvalidCertificate(CertificateError::Other(ref other)))
                if ca_as_end_entity(other) && self.pinned.iter().any(|c| c == end_entity) =>
            {
                // webpki checks a certificate's validity period before its basic constraints,
                // so this one is current (a test holds webpki to that order); the name is left.
                let cert = webpki::EndEntityCert::try_from(end_entity).map_err(|_| {
                    rustls::Error::InvalidCertificate(CertificateError::BadEncoding)
                })?;
                cert.verify_is_valid_for_subject_name(server_name)
                    .map_err(|_| {
                        rustls::Error::InvalidCertificate(CertificateError::NotValidForName)
                    })?;
                Ok(ServerCertVerified::assertion())
            }
            verdict => verdict,
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.webpki.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.webpki.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.webpki.supported_verify_schemes()
    }
}

impl<In: Transport> Connector<In> for Tls {
    type Out = Either<In, TlsConnection>;

    fn connect(
        &self,
        details: &ConnectionDetails,
        chained: Option<In>,
    ) -> Result<Option<Self::Out>, Error> {
        let Some(transport) = chained else {
            return Ok(None);
        };
        // An http URL sent whole to an https proxy: the TLS is the proxy's.
        let proxy = crate::proxy::absolute_tls_host();
        if (!details.needs_tls() && proxy.is_none()) || transport.is_tls() {
            return Ok(Some(Either::A(transport)));
        }
        let host = (proxy.as_deref()).unwrap_or_else(|| details.uri.host().unwrap_or_default());
        self.handshake(details, host, transport)
            .map(|tls| Some(Either::B(tls)))
    }
}

impl Tls {
    /// Makes `transport` a TLS connection. Never inlined: its frame is 3.5 KiB, and when an
    /// unrelated change made the compiler lay out the connector chain differently, a plain
    /// connection's stack went that much deeper too, a page more for every thread (2,000
    /// small files at 384 threads: 30.5 against 29.5 MiB peak).
    #[inline(never)]
    fn handshake<In: Transport>(
        &self,
        details: &ConnectionDetails,
        host: &str,
        transport: In,
    ) -> Result<TlsConnection, Error> {
        // An IPv6 literal comes bracketed from the URI.
        let host = host.trim_start_matches('[').trim_end_matches(']');
        let name = ServerName::try_from(host.to_string())
            .map_err(|_| Error::Tls("the host is not a name a certificate can be checked for"))?;
        let mut conn = ClientConnection::new(self.config(), name)?;
        let mut sock = TransportAdapter::new(transport.boxed(), details.current_time.clone());
        // The handshake has what is left of the connect time, not all of it again.
        sock.set_timeout(remaining(
            details.timeout,
            details.now,
            (details.current_time)(),
        ));
        conn.complete_io(&mut sock)?;
        trace::secured(|| {
            let version = conn
                .protocol_version()
                .map_or("?".into(), |v| format!("{v:?}"));
            let suite =
                (conn.negotiated_cipher_suite()).map_or("?".into(), |s| format!("{:?}", s.suite()));
            format!("TLS handshake done: {version}, {suite}, the certificate verified for {host}")
        });
        Ok(TlsConnection {
            // Plaintext buffers that start small and grow with the body, as plain connections'
            // do, instead of ureq's, which zero-fill the whole input size up front.
            buffers: GrowingBuffers::new(
                details.config.input_buffer_size(),
                details.config.output_buffer_size(),
            ),
            stream: StreamOwned { conn, sock },
            idle: false,
        })
    }
}

/// `timeout` as set at `since`, seen at `now`.
fn remaining(mut timeout: NextTimeout, since: Instant, now: Instant) -> NextTimeout {
    if let (Duration::Exact(limit), Instant::Exact(since), Instant::Exact(now)) =
        (timeout.after, since, now)
    {
        timeout.after = Duration::Exact(limit.saturating_sub(now.saturating_duration_since(since)));
    }
    timeout
}

/// One TLS connection and its buffers.
pub struct TlsConnection {
    buffers: GrowingBuffers,
    stream: StreamOwned<ClientConnection, TransportAdapter>,
    /// Taken from (or given back to) the pool and not answered since (see
    /// [`transport::Stale`]).
    idle: bool,
}

impl fmt::Debug for TlsConnection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TlsConnection")
            .field("over", &self.stream.sock.inner())
            .finish()
    }
}

impl Transport for TlsConnection {
    fn buffers(&mut self) -> &mut dyn Buffers {
        &mut self.buffers
    }

    fn transmit_output(&mut self, amount: usize, timeout: NextTimeout) -> Result<(), Error> {
        self.stream.get_mut().set_timeout(timeout);
        let output = &self.buffers.output()[..amount];
        // To an https proxy, an http URL's request line in absolute form (see proxy.rs).
        let absolute = crate::proxy::absolute_head(output);
        let idle = self.idle;
        self.stream
            .write_all(absolute.as_deref().unwrap_or(output))
            .map_err(|e| transport::stale_if(idle, e))?;
        Ok(())
    }

    fn await_input(&mut self, timeout: NextTimeout) -> Result<bool, Error> {
        self.stream.get_mut().set_timeout(timeout);
        let input = self.buffers.input_append_buf();
        let idle = self.idle;
        let amount = (self.stream.read(input)).map_err(|e| transport::stale_if(idle, e))?;
        // A server closing an idle connection says so first (close_notify): the TLS layer
        // reads bytes and ends the stream cleanly, so only the plaintext tells.
        if amount == 0 && idle {
            return Err(transport::stale_end());
        }
        self.idle = false;
        self.buffers.input_appended(amount);
        Ok(amount > 0)
    }

    fn is_open(&mut self) -> bool {
        self.idle = self.stream.get_mut().get_mut().is_open();
        self.idle
    }

    fn is_tls(&self) -> bool {
        true
    }
}

/// Whether rustls' catch-all refusal is webpki's "a CA certificate as the server's own".
fn ca_as_end_entity(other: &rustls::OtherError) -> bool {
    matches!(
        other.0.downcast_ref::<webpki::Error>(),
        Some(webpki::Error::CaUsedAsEndEntity)
    )
}

/// ureq reports handshake and certificate failures as I/O errors wrapping rustls' error.
pub fn is_tls(err: &io::Error) -> bool {
    err.get_ref()
        .is_some_and(|inner| inner.is::<rustls::Error>())
}

/// rustls' text for a certificate it refuses, with what to do about the refusals a private
/// server's owner meets most, which rustls names only by a variant.
pub fn message(err: &io::Error) -> String {
    use rustls::CertificateError as C;
    let text = err.to_string();
    let refusal = match err
        .get_ref()
        .and_then(|e| e.downcast_ref::<rustls::Error>())
    {
        Some(rustls::Error::InvalidCertificate(refusal)) => refusal,
        Some(
            rustls::Error::AlertReceived(rustls::AlertDescription::ProtocolVersion)
            | rustls::Error::PeerIncompatible(
                rustls::PeerIncompatible::ServerDoesNotSupportTls12Or13
                | rustls::PeerIncompatible::ServerTlsVersionIsDisabledByOurConfig
                | rustls::PeerIncompatible::SupportedVersionsExtensionRequired,
            ),
        ) => {
            return format!(
                "{text} (the server and this run share no TLS version: this run offers what \
                 --tls-min and --tls-max allow, of 1.2 and 1.3)"
            );
        }
        // What comes back is not a TLS record at all: most often a plain http server's answer
        // (curl says "wrong version number"), which rustls names only by the record's type.
        Some(rustls::Error::InvalidMessage(rustls::InvalidMessage::InvalidContentType)) => {
            return format!(
                "{text} (the server did not answer in TLS: is it plain http on that port?)"
            );
        }
        _ => return text,
    };
    let hint = match refusal {
        C::UnknownIssuer => {
            "not issued by a CA this run trusts; for a private CA, give its certificate with --cacert"
        }
        C::Other(other) if ca_as_end_entity(other) => {
            "the server's own certificate is a CA certificate (basicConstraints CA:TRUE), \
             trusted only when --cacert gives that very certificate"
        }
        _ => return text,
    };
    format!("{text} ({hint})")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tls_versions_read_as_curl_aria2c_and_wget_write_them() {
        for (text, version) in [
            ("1.2", Version::V12),
            ("TLSv1.3", Version::V13),
            ("TLSv1_3", Version::V13),
            ("tls1.2", Version::V12),
            ("auto", Version::V12),
        ] {
            assert_eq!(parse_version(text), Ok(version), "{text}");
        }
        assert!(parse_version("1.1").unwrap_err().contains("before 1.2"));
        assert!(parse_version("SSLv3").is_err());
        let only13 = Versions::between(Some(Version::V13), None).unwrap();
        assert_eq!((only13.tls12, only13.tls13), (false, true));
        let only12 = Versions::between(None, Some(Version::V12)).unwrap();
        assert_eq!((only12.tls12, only12.tls13), (true, false));
        assert_eq!(Versions::between(None, None), Ok(Versions::default()));
        assert!(Versions::between(Some(Version::V13), Some(Version::V12)).is_err());
    }

    #[test]
    fn the_handshake_gets_what_is_left_of_the_connect_time() {
        let since = std::time::Instant::now();
        let now = since + std::time::Duration::from_secs(3);
        let timeout = NextTimeout {
            after: Duration::from_secs(10),
            ..NextTimeout::default()
        };
        let left = remaining(timeout, Instant::Exact(since), Instant::Exact(now));
        assert_eq!(left.after, Duration::from_secs(7));
        let late = remaining(
            timeout,
            Instant::Exact(since),
            Instant::Exact(since + *Duration::from_secs(11)),
        );
        assert_eq!(late.after, Duration::from_secs(0));
        let unbounded = NextTimeout::default();
        assert_eq!(
            remaining(unbounded, Instant::Exact(since), Instant::Exact(now)),
            unbounded
        );
    }
}
