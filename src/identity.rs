//! The client certificate and key offered to servers that ask for one (`--cert`, `--key`,
//! `--pass`): reading them from PEM files or a PKCS#12 file (`.p12`, `.pfx`), and decrypting a
//! key encrypted as PKCS#8 or in OpenSSL's older PEM form, or a PKCS#12 file, with a passphrase
//! given or asked for on the terminal, as curl does.

use std::borrow::Cow;
use std::fmt;
use std::path::{Path, PathBuf};

use anyhow::{Context, anyhow, bail};
use cbc::cipher::block_padding::Pkcs7;
use cbc::cipher::{BlockCipherDecrypt, BlockModeDecrypt, KeyInit, KeyIvInit};
use md5::{Digest, Md5};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};

/// Why a passphrase is asked for a key.
const KEY_ENCRYPTED: &str = "the key is encrypted";

/// What to run to turn a key fetchpar cannot decrypt into one it can.
const REENCRYPT: &str = "`openssl pkcs8 -topk8 -v2 aes256 -in KEY -out NEW` encrypts it in one it \
                         can";

/// What `--cert-type` says a `--cert` file is, as curl's names it (the file's content says it
/// anyway: this only makes sure).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CertType {
    Pem,
    P12,
}

impl CertType {
    /// curl's `--cert-type` (and wget's `--certificate-type`) value, in any case.
    pub fn parse(text: &str) -> Result<Self, String> {
        match text.to_ascii_uppercase().as_str() {
            "PEM" => Ok(Self::Pem),
            "P12" | "PKCS12" => Ok(Self::P12),
            "DER" => Err(
                "`DER`: a DER certificate is not read; `openssl x509 -inform DER -in \
                           FILE` writes it as PEM"
                    .into(),
            ),
            "ENG" => Err("`ENG`: OpenSSL engines are not used".into()),
            _ => Err(format!("`{text}`: PEM or P12")),
        }
    }
}

/// What `--key` is, as curl's `--key-type` (and wget's `--private-key-type`) says it: PEM, the
/// only kind read (a file with no PEM key in it says so when it is read).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KeyType;

impl KeyType {
    /// `--key-type`'s value, in any case: PEM; DER and ENG say what to do instead.
    pub fn parse(text: &str) -> Result<Self, String> {
        match text.to_ascii_uppercase().as_str() {
            "PEM" => Ok(Self),
            "DER" => Err(
                "`DER`: a DER key is not read; `openssl pkey -inform DER -in FILE` writes it as \
                 PEM"
                .into(),
            ),
            "ENG" => Err("`ENG`: OpenSSL engines are not used".into()),
            _ => Err(format!("`{text}`: PEM")),
        }
    }
}

/// `--cert FILE[:PASSWORD]` as curl reads it: a file that is there is taken whole; else what
/// follows the first `:` that no `\` escapes is the passphrase, and `\:` in the name is `:`.
pub fn cert_and_passphrase(arg: &Path) -> (PathBuf, Option<String>) {
    let whole = || (arg.to_path_buf(), None);
    let Some(text) = arg.to_str() else {
        return whole();
    };
    if arg.exists() || !text.contains(':') {
        return whole();
    }
    let mut name = String::new();
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        match (c, chars.clone().next()) {
            ('\\', Some(':')) => {
                name.push(':');
                chars.next();
            }
            (':', _) => return (PathBuf::from(name), Some(chars.collect())),
            (c, _) => name.push(c),
        }
    }
    (PathBuf::from(name), None)
}

/// A client certificate chain and its private key, from PEM files or a PKCS#12 file (`--cert`,
/// `--key`).
pub struct Identity {
    pub(crate) chain: Vec<CertificateDer<'static>>,
    pub(crate) key: PrivateKeyDer<'static>,
}

impl Identity {
    /// Reads the certificates of `cert` and the first private key of `key` (PKCS#8, PKCS#1 or
    /// SEC1), or of `cert` itself when no key file is given, as curl reads a combined file. An
    /// encrypted key is decrypted with `passphrase`, or with one asked for on the terminal when
    /// none is given, as curl asks. A PKCS#12 `cert` holds both (and takes no `key`). `kind`,
    /// `--cert-type`, is checked against what the file is. An error says which file and what
    /// is wrong with it.
    pub fn load(
        cert: &Path,
        key: Option<&Path>,
        passphrase: Option<&str>,
        kind: Option<CertType>,
    ) -> anyhow::Result<Self> {
        let read = |path: &Path| {
            std::fs::read(path).map_err(|e| anyhow!("cannot read {}: {e}", path.display()))
        };
        let pem = read(cert)?;
        let p12 = pkcs12_der(&pem);
        match kind {
            Some(CertType::P12) if !p12 => {
                bail!("{} is not a PKCS#12 file (--cert-type P12)", cert.display())
            }
            Some(CertType::Pem) if p12 => {
                bail!(
                    "{} is a PKCS#12 file, not PEM (--cert-type PEM)",
                    cert.display()
                )
            }
            _ => {}
        }
        if p12 {
            if let Some(key) = key {
                bail!(
                    "{} is a PKCS#12 file, which holds its own key: --key {} is not for it",
                    cert.display(),
                    key.display()
                );
            }
            return from_pkcs12(&pem, cert, passphrase).with_context(|| cert.display().to_string());
        }
        let text = String::from_utf8_lossy(&pem);
        let legacy = Legacy::find(&text).map(|block| block.cut_from(&text));
        let certs = legacy.as_ref().map_or(&pem[..], |rest| rest.as_bytes());
        let chain = (CertificateDer::pem_slice_iter(certs))
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| anyhow!("{}: {e}", cert.display()))?;
        if chain.is_empty() {
            bail!("{}: no PEM certificate in the file", cert.display());
        }
        let key_path = key.unwrap_or(cert);
        let key_pem = if key.is_some() { read(key_path)? } else { pem };
        let text = String::from_utf8_lossy(&key_pem);
        let decrypted = if let Some(block) = encrypted_block(&text) {
            Some(decrypt(block, key_path, passphrase))
        } else {
            Legacy::find(&text).map(|legacy| legacy.decrypt(key_path, passphrase))
        };
        if let Some(key) = decrypted {
            let key = key.with_context(|| key_path.display().to_string())?;
            return Ok(Self { chain, key });
        }
        let key = PrivateKeyDer::from_pem_slice(&key_pem).map_err(|e| match e {
            rustls::pki_types::pem::Error::NoItemsFound => {
                anyhow!("{}: no PEM private key in the file", key_path.display())
            }
            e => anyhow!("{}: {e}", key_path.display()),
        })?;
        Ok(Self { chain, key })
    }
}

/// Names nothing of the key.
impl fmt::Debug for Identity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Identity")
            .field("certificates", &self.chain.len())
            .finish_non_exhaustive()
    }
}

/// Whether a `--cert` file is a PKCS#12 one: DER (a SEQUENCE), where a PEM file is text.
fn pkcs12_der(file: &[u8]) -> bool {
    file.first() == Some(&0x30) && !file.windows(11).any(|w| w == b"-----BEGIN ")
}

/// The key and certificates of a PKCS#12 file: its private key and the chain that goes with
/// it, the certificate first. A file with no password (the only kind aria2c opens) opens
/// without one; any other with `--pass`, or a passphrase asked for on the terminal.
fn from_pkcs12(der: &[u8], path: &Path, given: Option<&str>) -> anyhow::Result<Identity> {
    use p12_keystore::error::Error as P12;
    use p12_keystore::{KeyStore, Pkcs12ImportPolicy};
    let open = |password: &str| KeyStore::from_pkcs12(der, password, Pkcs12ImportPolicy::Strict);
    let opened = match given {
        Some(given) => open(given),
        None => match open("") {
            Err(P12::MacError(_)) => {
                open(&passphrase(None, path, "the PKCS#12 file is encrypted")?)
            }
            opened => opened,
        },
    };
    let store = opened.map_err(|e| match e {
        // A wrong password shows as a MAC that does not match, or, in a file without a MAC,
        // as decrypted bytes that are no key or certificate.
        P12::MacError(_) | P12::UnpadError | P12::InvalidPrivateKey | P12::X509Error(_) => {
            anyhow!(
                "the PKCS#12 file cannot be opened: the passphrase is wrong, or the file is \
                 damaged"
            )
        }
        P12::UnsupportedEncryptionScheme | P12::UnsupportedMacAlgorithm => anyhow!(
            "the PKCS#12 file is encrypted in a way fetchpar cannot read ({e}); `openssl \
             pkcs12 -in FILE -nodes | openssl pkcs12 -export -out NEW` writes it anew in one it \
             can"
        ),
        e => anyhow!("neither PEM nor a PKCS#12 file fetchpar can read: {e}"),
    })?;
    let (_, found) = (store.private_key_chain())
        .ok_or_else(|| anyhow!("no private key with its certificate in the PKCS#12 file"))?;
    let chain = (found.certs().iter())
        .map(|cert| CertificateDer::from(cert.as_der().to_vec()))
        .collect();
    let key = PrivateKeyDer::Pkcs8(found.key().as_der().to_vec().into());
    Ok(Identity { chain, key })
}

/// The passphrase given with `--pass`, or one asked for on the terminal (not echoed), `because`
/// what the file holds is encrypted.
fn passphrase<'a>(
    given: Option<&'a str>,
    path: &Path,
    because: &'static str,
) -> anyhow::Result<Cow<'a, str>> {
    if let Some(given) = given {
        return Ok(Cow::Borrowed(given));
    }
    let prompt = format!("Passphrase for {}: ", path.display());
    let asking = crate::ask::Asking {
        what: "passphrase",
        because,
        instead: "give its passphrase with --pass",
    };
    Ok(Cow::Owned(crate::ask::secret(&prompt, &asking)?))
}

fn wrong_passphrase() -> anyhow::Error {
    anyhow!("the key cannot be decrypted: the passphrase is wrong, or the file is damaged")
}

/// The first `ENCRYPTED PRIVATE KEY` PEM block of a file's text, from its BEGIN line to the
/// end of its END line (or of the text, when that is missing, for the decoder to refuse).
fn encrypted_block(text: &str) -> Option<&str> {
    const BEGIN: &str = "-----BEGIN ENCRYPTED PRIVATE KEY-----";
    const END: &str = "-----END ENCRYPTED PRIVATE KEY-----";
    let start = text.find(BEGIN)?;
    let end = (text[start..].find(END)).map_or(text.len(), |at| start + at + END.len());
    Some(&text[start..end])
}

/// Decrypts a PKCS#8 encrypted key (PBES2: PBKDF2 or scrypt, with AES or 3DES, what OpenSSL
/// 1.1 and later write; or PKCS#12's triple-DES scheme, what `openssl pkcs8 -topk8` wrote
/// before 1.1) with the passphrase given or asked for on the terminal.
fn decrypt(
    block: &str,
    path: &Path,
    passphrase: Option<&str>,
) -> anyhow::Result<PrivateKeyDer<'static>> {
    use pkcs8::EncryptedPrivateKeyInfoRef;
    let (_, der) = pkcs8::der::pem::decode_vec(block.as_bytes())
        .map_err(|e| anyhow!("the encrypted key's PEM block cannot be read: {e}"))?;
    if let Some(pbe) = Pkcs12Pbe::parse(&der) {
        let passphrase = self::passphrase(passphrase, path, KEY_ENCRYPTED)?;
        return pbe.decrypt(&passphrase);
    }
    let info = EncryptedPrivateKeyInfoRef::try_from(der.as_slice()).map_err(|e| {
        anyhow!("the key is encrypted in a way fetchpar cannot read ({e}); {REENCRYPT}")
    })?;
    let passphrase = self::passphrase(passphrase, path, KEY_ENCRYPTED)?;
    let plain = info.decrypt(passphrase.as_ref()).map_err(|e| match e {
        pkcs8::Error::EncryptedPrivateKey(
            pkcs8::pkcs5::Error::DecryptFailed | pkcs8::pkcs5::Error::EncryptFailed,
        )
        | pkcs8::Error::Asn1(_) => wrong_passphrase(),
        e => anyhow!("the key cannot be decrypted ({e}); {REENCRYPT}"),
    })?;
    Ok(PrivateKeyDer::Pkcs8(plain.as_bytes().to_vec().into()))
}

/// A PKCS#8 key encrypted by one of PKCS#12's password-based schemes with triple DES or RC2
/// (RFC 7292 appendix C: `pbeWithSHAAnd3-KeyTripleDES-CBC`, the default of `openssl pkcs8
/// -topk8` before OpenSSL 1.1, its two-key form, and `pbeWithSHAAnd128BitRC2-CBC` and
/// `pbeWithSHAAnd40BitRC2-CBC`), which the pkcs8 crate does not read. Its key and IV come
/// from the passphrase by PKCS#12's own derivation with SHA-1 (appendix B), written here: the
/// RustCrypto crate that has it, pkcs12, is a pre-release only.
struct Pkcs12Pbe<'a> {
    cipher: PbeCipher,
    key_len: usize,
    salt: &'a [u8],
    iterations: u32,
    data: &'a [u8],
}

impl<'a> Pkcs12Pbe<'a> {
    /// The scheme's parts from an `EncryptedPrivateKeyInfo`, if it is one of these schemes.
    fn parse(der: &'a [u8]) -> Option<Self> {
        use pkcs8::der::asn1::{ObjectIdentifier, OctetStringRef};
        use pkcs8::der::{Decode, Reader, SliceReader};
        const THREE_KEY: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.12.1.3");
        const TWO_KEY: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.12.1.4");
        const RC2_128: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.12.1.5");
        const RC2_40: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.12.1.6");
        let mut reader = SliceReader::new(der).ok()?;
        let parsed = reader.sequence(|info| {
            let (oid, salt, iterations) = info.sequence(|algorithm| {
                let oid = ObjectIdentifier::decode(algorithm)?;
                let (salt, iterations) = algorithm.sequence(|params| {
                    Ok::<_, pkcs8::der::Error>((
                        <&OctetStringRef>::decode(params)?.as_bytes(),
                        u32::decode(params)?,
                    ))
                })?;
                Ok::<_, pkcs8::der::Error>((oid, salt, iterations))
            })?;
            let data = <&OctetStringRef>::decode(info)?.as_bytes();
            Ok::<_, pkcs8::der::Error>((oid, salt, iterations, data))
        });
        let (oid, salt, iterations, data) = parsed.ok()?;
        let (cipher, key_len) = match oid {
            THREE_KEY => (PbeCipher::DesEde3, 24),
            TWO_KEY => (PbeCipher::DesEde3, 16),
            RC2_128 => (PbeCipher::Rc2, 16),
            RC2_40 => (PbeCipher::Rc2, 5),
            _ => return None,
        };
        Some(Self {
            cipher,
            key_len,
            salt,
            iterations,
            data,
        })
    }

    fn decrypt(&self, passphrase: &str) -> anyhow::Result<PrivateKeyDer<'static>> {
        // The passphrase as a BMPString: UTF-16 big-endian, with a terminating zero.
        let password: Vec<u8> = (passphrase.encode_utf16().chain([0]))
            .flat_map(u16::to_be_bytes)
            .collect();
        let mut key = pkcs12_kdf(&password, self.salt, 1, self.iterations, self.key_len);
        if self.cipher == PbeCipher::DesEde3 && self.key_len == 16 {
            // Two-key triple DES: the third key is the first.
            key.extend_from_within(..8);
        }
        let iv = pkcs12_kdf(&password, self.salt, 2, self.iterations, 8);
        let mut data = self.data.to_vec();
        // CBC has no integrity check: a wrong passphrase shows as bad padding, or, one time in
        // a few hundred, as padding that happens to fit over bytes that are no key.
        let plain = match self.cipher {
            PbeCipher::DesEde3 => cbc_decrypt::<des::TdesEde3>(&key, &iv, &mut data),
            // RC2's effective key bits are its key's (40 or 128), as these schemes use it.
            PbeCipher::Rc2 => cbc_decrypt::<rc2::Rc2>(&key, &iv, &mut data),
        };
        let plain = plain.ok_or_else(wrong_passphrase)?;
        if pkcs8::PrivateKeyInfoRef::try_from(&data[..plain]).is_err() {
            return Err(wrong_passphrase());
        }
        data.truncate(plain);
        Ok(PrivateKeyDer::Pkcs8(data.into()))
    }
}

/// PKCS#12's key derivation with SHA-1 (RFC 7292 appendix B.2): `len` bytes for purpose `id`
/// (1 a key, 2 an IV) from `password` (a BMPString) and `salt`.
fn pkcs12_kdf(password: &[u8], salt: &[u8], id: u8, iterations: u32, len: usize) -> Vec<u8> {
    use sha1::{Digest as _, Sha1};
    // SHA-1's output and block sizes.
    const U: usize = 20;
    const V: usize = 64;
    // A string repeated to a whole number of blocks (none when it is empty).
    let blocks = |x: &[u8]| -> Vec<u8> {
        let len = V * x.len().div_ceil(V);
        x.iter().copied().cycle().take(len).collect()
    };
    let mut input = [blocks(salt), blocks(password)].concat();
    let mut out = Vec::with_capacity(len);
    loop {
        let mut a = Sha1::new()
            .chain_update([id; V])
            .chain_update(&input)
            .finalize();
        for _ in 1..iterations {
            a = Sha1::digest(a);
        }
        out.extend_from_slice(&a[..(len - out.len()).min(U)]);
        if out.len() == len {
            return out;
        }
        // Each block of the input becomes (block + B + 1) mod 2^(8V), B being A repeated.
        let b: Vec<u8> = a.iter().copied().cycle().take(V).collect();
        for block in input.chunks_mut(V) {
            let mut carry = 1u16;
            for (byte, add) in block.iter_mut().zip(&b).rev() {
                let sum = u16::from(*byte) + u16::from(*add) + carry;
                *byte = sum as u8;
                carry = sum >> 8;
            }
        }
    }
}

/// A key in OpenSSL's older encrypted form: a PKCS#1 or SEC1 block with RFC 1421 headers
/// (`Proc-Type: 4,ENCRYPTED`, `DEK-Info: CIPHER,IV`), what `openssl genrsa -des3` wrote before
/// OpenSSL 3.0 and `-traditional` still writes. Its key comes from the passphrase by OpenSSL's
/// `EVP_BytesToKey` (one round of MD5, the IV's first 8 bytes as salt); the cipher is CBC.
struct Legacy<'a> {
    /// The PEM label, which says what the decrypted DER is; empty when the block has no
    /// BEGIN or END line.
    label: &'a str,
    /// Where the block is in the file's text, BEGIN line to END line, when it has both.
    span: Option<std::ops::Range<usize>>,
    /// The `DEK-Info` cipher name, as the file spells it.
    cipher: &'a str,
    /// The `DEK-Info` IV, in hex.
    iv: &'a str,
    /// The base64 lines of the block, after its headers.
    body: String,
}

impl<'a> Legacy<'a> {
    /// The block whose headers say it is encrypted, if the text has one. A `Proc-Type` line
    /// outside a complete block is found too, for [`Legacy::decrypt`] to refuse.
    fn find(text: &'a str) -> Option<Self> {
        const BEGIN: &str = "-----BEGIN ";
        let at = text.find("Proc-Type: 4,ENCRYPTED")?;
        let start = text[..at].rfind(BEGIN);
        let label = start
            .and_then(|b| text[b + BEGIN.len()..at].split_once("-----"))
            .map_or("", |(label, _)| label);
        let end_line = format!("-----END {label}-----");
        let end = (text[at..].find(&end_line)).map(|e| at + e);
        let (mut cipher, mut iv, mut body) = ("", "", String::new());
        for line in text[at..end.unwrap_or(text.len())].lines().map(str::trim) {
            match line.split_once(':') {
                Some(("DEK-Info", info)) => {
                    (cipher, iv) = info.trim().split_once(',').unwrap_or((info.trim(), ""));
                }
                // Other headers (Proc-Type itself): base64 has no colon.
                Some(_) => {}
                None => body.push_str(line),
            }
        }
        let span = match (start, end) {
            (Some(start), Some(end)) if !label.is_empty() => Some(start..end + end_line.len()),
            _ => None,
        };
        Some(Self {
            label: if span.is_some() { label } else { "" },
            span,
            cipher,
            iv,
            body,
        })
    }

    /// `text` without this block: the PEM reader refuses a whole file for its headers (no
    /// base64), so the certificates of a file holding both are read from the rest.
    fn cut_from(&self, text: &str) -> String {
        match &self.span {
            Some(span) => [&text[..span.start], &text[span.end..]].concat(),
            None => text.to_string(),
        }
    }

    fn decrypt(
        &self,
        path: &Path,
        passphrase: Option<&str>,
    ) -> anyhow::Result<PrivateKeyDer<'static>> {
        use base64::Engine as _;
        if self.label.is_empty() {
            bail!(
                "the key's PEM block (with its Proc-Type header) has no matching BEGIN and END lines"
            );
        }
        let cipher = match Cipher::named(self.cipher) {
            Some(cipher) => cipher,
            None if self.cipher.is_empty() => bail!(
                "the key has a Proc-Type header but no DEK-Info one saying how it is encrypted"
            ),
            None => bail!(
                "the key is encrypted with {}, which fetchpar cannot decrypt (it can \
                 AES-128-CBC, AES-192-CBC, AES-256-CBC and DES-EDE3-CBC); {REENCRYPT}",
                self.cipher
            ),
        };
        let block_len = cipher.block_len();
        let iv = crate::links::unhex(self.iv)
            .filter(|iv| iv.len() == block_len)
            .ok_or_else(|| {
                anyhow!(
                    "the key's DEK-Info IV `{}` is not {block_len} bytes in hex",
                    self.iv
                )
            })?;
        let mut data = base64::engine::general_purpose::STANDARD
            .decode(&self.body)
            .map_err(|e| anyhow!("the key's PEM block cannot be read: {e}"))?;
        let der: fn(Vec<u8>) -> PrivateKeyDer<'static> = match self.label {
            "RSA PRIVATE KEY" => |der| PrivateKeyDer::Pkcs1(der.into()),
            "EC PRIVATE KEY" => |der| PrivateKeyDer::Sec1(der.into()),
            "PRIVATE KEY" => |der| PrivateKeyDer::Pkcs8(der.into()),
            other => bail!("the file holds a {other}, not a key TLS can use (RSA, EC or PKCS#8)"),
        };
        let passphrase = self::passphrase(passphrase, path, KEY_ENCRYPTED)?;
        let key = bytes_to_key(passphrase.as_bytes(), &iv[..8], cipher.key_len());
        let plain = cipher.decrypt(&key, &iv, &mut data);
        // CBC has no integrity check: a wrong passphrase shows as bad padding, or, one time in
        // a few hundred, as padding that happens to fit over bytes that are no DER.
        let plain = plain.ok_or_else(wrong_passphrase)?;
        if pkcs8::der::asn1::AnyRef::try_from(&data[..plain]).is_err() {
            return Err(wrong_passphrase());
        }
        data.truncate(plain);
        Ok(der(data))
    }
}

/// OpenSSL's `EVP_BytesToKey` with MD5 and one round, as its PEM code calls it.
fn bytes_to_key(passphrase: &[u8], salt: &[u8], len: usize) -> Vec<u8> {
    let mut key = Vec::with_capacity(len + 16);
    while key.len() < len {
        let start = key.len().saturating_sub(16);
        let digest = Md5::new()
            .chain_update(&key[start..])
            .chain_update(passphrase)
            .chain_update(salt)
            .finalize();
        key.extend_from_slice(&digest);
    }
    key.truncate(len);
    key
}

/// The ciphers of OpenSSL's older PEM encryption that fetchpar decrypts: those OpenSSL 3.0
/// still writes without its legacy provider.
#[derive(Clone, Copy)]
enum Cipher {
    Aes128,
    Aes192,
    Aes256,
    DesEde3,
}

impl Cipher {
    /// From its `DEK-Info` name.
    fn named(name: &str) -> Option<Self> {
        Some(match name.to_ascii_uppercase().as_str() {
            "AES-128-CBC" => Self::Aes128,
            "AES-192-CBC" => Self::Aes192,
            "AES-256-CBC" => Self::Aes256,
            "DES-EDE3-CBC" => Self::DesEde3,
            _ => return None,
        })
    }

    fn key_len(self) -> usize {
        match self {
            Self::Aes128 => 16,
            Self::Aes192 | Self::DesEde3 => 24,
            Self::Aes256 => 32,
        }
    }

    fn block_len(self) -> usize {
        match self {
            Self::DesEde3 => 8,
            _ => 16,
        }
    }

    /// Decrypts `data` in place in CBC mode and takes off its PKCS#7 padding: the
    /// plaintext's length, or `None` when the padding is wrong.
    fn decrypt(self, key: &[u8], iv: &[u8], data: &mut [u8]) -> Option<usize> {
        match self {
            Self::Aes128 => cbc_decrypt::<aes::Aes128>(key, iv, data),
            Self::Aes192 => cbc_decrypt::<aes::Aes192>(key, iv, data),
            Self::Aes256 => cbc_decrypt::<aes::Aes256>(key, iv, data),
            Self::DesEde3 => cbc_decrypt::<des::TdesEde3>(key, iv, data),
        }
    }
}

/// The ciphers of PKCS#12's password-based schemes read here.
#[derive(Clone, Copy, PartialEq, Eq)]
enum PbeCipher {
    DesEde3,
    Rc2,
}

/// Decrypts `data` in place with cipher `C` in CBC mode and takes off its PKCS#7 padding: the
/// plaintext's length, or `None` when the key or IV does not fit or the padding is wrong.
fn cbc_decrypt<C: BlockCipherDecrypt + KeyInit>(
    key: &[u8],
    iv: &[u8],
    data: &mut [u8],
) -> Option<usize> {
    let decryptor = cbc::Decryptor::<C>::new_from_slices(key, iv).ok()?;
    decryptor
        .decrypt_padded::<Pkcs7>(data)
        .ok()
        .map(<[u8]>::len)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_passphrase_follows_the_certificates_name_as_curl_reads_it() {
        let dir = tempfile::tempdir().unwrap();
        let there = dir.path().join("odd:name.pem");
        std::fs::write(&there, "x").unwrap();
        let given = |text: String| cert_and_passphrase(Path::new(&text));
        let at = |name: &str| dir.path().join(name);
        // A file of the whole name wins.
        assert_eq!(given(path_text(&there)), (there.clone(), None));
        let base = path_text(dir.path());
        assert_eq!(
            given(format!("{base}/c.p12:s3:cret")),
            (at("c.p12"), Some("s3:cret".into()))
        );
        assert_eq!(
            given(format!("{base}/a\\:b.p12:pw")),
            (at("a:b.p12"), Some("pw".into()))
        );
        assert_eq!(
            given(format!("{base}/c.p12:")),
            (at("c.p12"), Some(String::new()))
        );
        assert_eq!(given(format!("{base}/plain.pem")), (at("plain.pem"), None));
        assert_eq!(given(format!("{base}/a\\:b")), (at("a:b"), None));
    }

    fn path_text(path: &Path) -> String {
        path.to_str().unwrap().to_string()
    }

    #[test]
    fn cert_types_are_curls_names_in_any_case() {
        assert_eq!(CertType::parse("p12"), Ok(CertType::P12));
        assert_eq!(CertType::parse("PEM"), Ok(CertType::Pem));
        assert!(
            CertType::parse("DER")
                .unwrap_err()
                .contains("openssl x509 -inform DER")
        );
        assert!(CertType::parse("jks").unwrap_err().contains("PEM or P12"));
        assert_eq!(KeyType::parse("pem"), Ok(KeyType));
        assert!(
            KeyType::parse("DER")
                .unwrap_err()
                .contains("openssl pkey -inform DER")
        );
        assert!(KeyType::parse("ENG").unwrap_err().contains("engines"));
    }

    #[test]
    fn a_pkcs12_file_is_told_from_pem_by_its_content() {
        let p12 = include_bytes!("../tests/data/keys/client-aes256.p12");
        assert!(pkcs12_der(p12));
        assert!(!pkcs12_der(include_bytes!(
            "../tests/data/keys/client-ca.pem"
        )));
        // PEM after other text, and text that starts like DER but holds PEM, are PEM.
        assert!(!pkcs12_der(b"0\n-----BEGIN CERTIFICATE-----\n"));
        assert!(!pkcs12_der(b""));
        // Its key and chain, the certificate first, then the CA's.
        let identity = from_pkcs12(p12, Path::new("c.p12"), Some("s3cret")).unwrap();
        assert_eq!(identity.chain.len(), 2);
        let plain = PrivateKeyDer::from_pem_slice(include_bytes!("../tests/data/keys/plain.pem"));
        assert_eq!(identity.key.secret_der(), plain.unwrap().secret_der());
    }

    /// Keys OpenSSL 3.0 wrote, encrypted with the passphrase `s3cret` (tests/data/keys/README.md
    /// says how each was made).
    macro_rules! key {
        ($name:literal) => {
            include_str!(concat!("../tests/data/keys/", $name))
        };
    }

    fn load(text: &str) -> anyhow::Result<PrivateKeyDer<'static>> {
        let path = Path::new("k.pem");
        match encrypted_block(text) {
            Some(block) => decrypt(block, path, Some("s3cret")),
            None => Legacy::find(text).unwrap().decrypt(path, Some("s3cret")),
        }
    }

    fn plain(text: &str) -> PrivateKeyDer<'static> {
        PrivateKeyDer::from_pem_slice(text.as_bytes()).unwrap()
    }

    #[test]
    fn keys_openssl_encrypts_as_pkcs8_decrypt_to_the_plain_key() {
        let plain = plain(key!("plain.pem"));
        let path = Path::new("k.pem");
        for encrypted in [
            key!("pkcs8-pbkdf2-aes256.pem"),
            key!("pkcs8-scrypt-aes256.pem"),
            key!("pkcs8-pbkdf2-sha1-des3.pem"),
        ] {
            let block = encrypted_block(encrypted).unwrap();
            let key = decrypt(block, path, Some("s3cret")).unwrap();
            assert_eq!(key.secret_der(), plain.secret_der());
            let wrong = format!("{:#}", decrypt(block, path, Some("s3cre")).unwrap_err());
            assert!(wrong.contains("the passphrase is wrong"), "{wrong}");
        }
        let rc4 = format!("{:#}", load(key!("pkcs8-pbe-sha1-rc4.pem")).unwrap_err());
        assert!(rc4.contains("openssl pkcs8 -topk8 -v2 aes256"), "{rc4}");
    }

    #[test]
    fn keys_in_pkcs12s_triple_des_and_rc2_schemes_decrypt_to_the_plain_key() {
        let plain = plain(key!("plain.pem"));
        let path = Path::new("k.pem");
        for (encrypted, passphrase) in [
            (key!("pkcs8-pbe-sha1-3des.pem"), "s3cret"),
            (key!("pkcs8-pbe-sha1-2des.pem"), "s3cret"),
            (key!("pkcs8-pbe-sha1-3des-utf8.pem"), "pässwörd€"),
            (key!("pkcs8-pbe-sha1-rc2.pem"), "s3cret"),
            (key!("pkcs8-pbe-sha1-rc2-40.pem"), "s3cret"),
        ] {
            let block = encrypted_block(encrypted).unwrap();
            let key = decrypt(block, path, Some(passphrase)).unwrap();
            assert!(matches!(key, PrivateKeyDer::Pkcs8(_)));
            assert_eq!(key.secret_der(), plain.secret_der());
            for wrong in ["s3cre", "", "pässwörd"] {
                let err = format!("{:#}", decrypt(block, path, Some(wrong)).unwrap_err());
                assert!(err.contains("the passphrase is wrong"), "{err}");
            }
        }
    }

    #[test]
    fn pkcs12s_key_derivation_gives_rfc_7292s_published_vectors() {
        // The vector Bouncy Castle's and other PKCS#12 implementations' tests use: password
        // "smeg", salt 0A58CF64530D823F, one iteration.
        let password: Vec<u8> = ("smeg".encode_utf16().chain([0]))
            .flat_map(u16::to_be_bytes)
            .collect();
        let salt = crate::links::unhex("0A58CF64530D823F").unwrap();
        let key = pkcs12_kdf(&password, &salt, 1, 1, 24);
        assert_eq!(
            crate::links::hex(&key),
            "8aaae6297b6cb04642ab5b077851284eb7128f1a2a7fbca3"
        );
        let iv = pkcs12_kdf(&password, &salt, 2, 1, 8);
        assert_eq!(crate::links::hex(&iv), "79993dfe048d3b76");
    }

    #[test]
    fn keys_in_openssls_older_form_decrypt_to_the_plain_key() {
        let sec1 = plain(key!("sec1.pem"));
        let path = Path::new("k.pem");
        for encrypted in [
            key!("ec-aes128.pem"),
            key!("ec-aes256.pem"),
            key!("ec-des3.pem"),
        ] {
            let key = load(encrypted).unwrap();
            assert!(matches!(key, PrivateKeyDer::Sec1(_)));
            assert_eq!(key.secret_der(), sec1.secret_der());
            let legacy = Legacy::find(encrypted).unwrap();
            // Passphrases that differ in a character, in length, or not at all in their
            // first 8 bytes (the key depends on all of it).
            for wrong in ["s3creT", "s3cre", "s3cret!", ""] {
                let refused = format!("{:#}", legacy.decrypt(path, Some(wrong)).unwrap_err());
                assert!(
                    refused.contains("the passphrase is wrong"),
                    "{wrong}: {refused}"
                );
            }
        }
        let rsa = load(key!("rsa-aes192.pem")).unwrap();
        assert!(matches!(rsa, PrivateKeyDer::Pkcs1(_)));
        assert_eq!(rsa.secret_der(), plain(key!("rsa.pem")).secret_der());
    }

    #[test]
    fn keys_in_the_older_form_it_cannot_read_say_why() {
        let refused = |text: &str| format!("{:#}", load(text).unwrap_err());
        let camellia = refused(key!("ec-camellia128.pem"));
        assert!(
            camellia.contains("encrypted with CAMELLIA-128-CBC"),
            "{camellia}"
        );
        assert!(camellia.contains("openssl pkcs8 -topk8"), "{camellia}");
        let aes = key!("ec-aes128.pem");
        let no_info = aes.replace("DEK-Info", "X-Info");
        assert!(refused(&no_info).contains("no DEK-Info"));
        let short_iv = aes.replace("AES-128-CBC,8BB4A6362124DAF1", "AES-128-CBC,");
        assert!(refused(&short_iv).contains("is not 16 bytes in hex"));
        let cut = &aes[..aes.find("-----END").unwrap()];
        assert!(refused(cut).contains("no matching BEGIN and END"));
        let dsa = aes.replace("EC PRIVATE KEY", "DSA PRIVATE KEY");
        assert!(refused(&dsa).contains("a DSA PRIVATE KEY, not a key TLS can use"));
    }

    #[test]
    fn an_encrypted_block_is_found_after_a_certificate_and_cut_at_its_end() {
        let scrypt = key!("pkcs8-scrypt-aes256.pem").trim_end();
        let file = format!(
            "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n{scrypt}trailing"
        );
        let block = encrypted_block(&file).unwrap();
        assert!(block.starts_with("-----BEGIN ENCRYPTED PRIVATE KEY-----"));
        assert!(block.ends_with("-----END ENCRYPTED PRIVATE KEY-----"));
        assert_eq!(encrypted_block(key!("plain.pem")), None);
        let cut = "-----BEGIN ENCRYPTED PRIVATE KEY-----\nMIHk";
        let refused = decrypt(encrypted_block(cut).unwrap(), Path::new("k"), Some("x"));
        assert!(format!("{:#}", refused.unwrap_err()).contains("PEM block cannot be read"));
        // The older form after a certificate too, as in a combined --cert file.
        let aes = key!("ec-aes256.pem");
        let combined =
            format!("-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n{aes}");
        assert_eq!(Legacy::find(&combined).unwrap().label, "EC PRIVATE KEY");
        assert!(load(&combined).is_ok());
    }
}
