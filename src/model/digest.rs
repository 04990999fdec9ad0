//! Content digests: `algorithm:encoded`, computed over exact bytes.

use std::fmt;
use std::str::FromStr;

use sha2::{Digest as _, Sha256, Sha512};

/// Why a digest string was rejected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DigestError {
    #[error("digest {input:?} has no `algorithm:` prefix (expected e.g. sha256:<64 hex>)")]
    MissingAlgorithm { input: String },
    #[error("digest {input:?} has an invalid algorithm part")]
    BadAlgorithm { input: String },
    #[error("digest {input:?} has an invalid encoded part")]
    BadEncoded { input: String },
    #[error("digest {input:?}: {algorithm} needs {expected} lowercase hex characters")]
    BadLength { input: String, algorithm: String, expected: usize },
}

/// A validated content digest. Equality is byte equality of the string form.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Digest(String);

impl Digest {
    /// sha256 over `bytes`.
    pub fn sha256(bytes: &[u8]) -> Digest {
        Digest(format!("sha256:{}", hex::encode(Sha256::digest(bytes))))
    }

    pub fn parse(input: &str) -> Result<Digest, DigestError> {
        let (algorithm, encoded) = input.split_once(':').ok_or_else(|| DigestError::MissingAlgorithm { input: input.to_string() })?;
        if !valid_algorithm(algorithm) {
            return Err(DigestError::BadAlgorithm { input: input.to_string() });
        }
        if encoded.is_empty() || !encoded.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'=' | b'_' | b'-')) {
            return Err(DigestError::BadEncoded { input: input.to_string() });
        }
        let expected = match algorithm {
            "sha256" => Some(64),
            "sha512" => Some(128),
            _ => None,
        };
        if let Some(expected) = expected {
            let lower_hex = encoded.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b));
            if encoded.len() != expected || !lower_hex {
                return Err(DigestError::BadLength { input: input.to_string(), algorithm: algorithm.to_string(), expected });
            }
        }
        Ok(Digest(input.to_string()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn algorithm(&self) -> &str {
        self.0.split_once(':').map(|(a, _)| a).unwrap_or("")
    }

    pub fn encoded(&self) -> &str {
        self.0.split_once(':').map(|(_, e)| e).unwrap_or("")
    }

    /// `sha256:0123456789ab` — the first 12 characters of the encoded part.
    pub fn short(&self) -> String {
        let enc = self.encoded();
        format!("{}:{}", self.algorithm(), &enc[..enc.len().min(12)])
    }

    /// Whether this digest can be checked here (sha256 and sha512).
    pub fn is_verifiable(&self) -> bool {
        matches!(self.algorithm(), "sha256" | "sha512")
    }

    /// Recompute the digest of `bytes` with this digest's algorithm and compare.
    pub fn verify(&self, bytes: &[u8]) -> Result<(), DigestMismatch> {
        let actual = match self.algorithm() {
            "sha256" => Digest::sha256(bytes),
            "sha512" => Digest(format!("sha512:{}", hex::encode(Sha512::digest(bytes)))),
            other => {
                return Err(DigestMismatch { expected: self.clone(), actual: None, reason: format!("algorithm {other} is not supported") });
            }
        };
        if &actual == self { Ok(()) } else { Err(DigestMismatch { expected: self.clone(), actual: Some(actual), reason: String::new() }) }
    }
}

/// A digest computed as bytes stream past, with the algorithm of the digest they must match.
#[derive(Clone)]
pub enum StreamHasher {
    Sha256(Sha256),
    Sha512(Sha512),
}

impl StreamHasher {
    /// A hasher for `expected`'s algorithm; `None` when it cannot be verified here.
    pub fn for_digest(expected: &Digest) -> Option<StreamHasher> {
        match expected.algorithm() {
            "sha256" => Some(StreamHasher::Sha256(Sha256::new())),
            "sha512" => Some(StreamHasher::Sha512(Sha512::new())),
            _ => None,
        }
    }

    /// A sha256 hasher (a file's content hash, where no digest is expected).
    pub fn sha256() -> StreamHasher {
        StreamHasher::Sha256(Sha256::new())
    }

    pub fn update(&mut self, bytes: &[u8]) {
        match self {
            StreamHasher::Sha256(h) => h.update(bytes),
            StreamHasher::Sha512(h) => h.update(bytes),
        }
    }

    /// The digest of what was hashed.
    pub fn finish(self) -> Digest {
        match self {
            StreamHasher::Sha256(h) => Digest(format!("sha256:{}", hex::encode(h.finalize()))),
            StreamHasher::Sha512(h) => Digest(format!("sha512:{}", hex::encode(h.finalize()))),
        }
    }

    /// Compare what was hashed with `expected`.
    pub fn verify(self, expected: &Digest) -> Result<(), DigestMismatch> {
        let actual = self.finish();
        if &actual == expected { Ok(()) } else { Err(DigestMismatch { expected: expected.clone(), actual: Some(actual), reason: String::new() }) }
    }
}

/// Bytes written are hashed (`io::copy` into a hasher).
impl std::io::Write for StreamHasher {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.update(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Bytes did not hash to the digest they were fetched by.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("content does not match digest {expected}{}", match actual { Some(a) => format!(" (got {a})"), None => format!(": {reason}") })]
pub struct DigestMismatch {
    pub expected: Digest,
    pub actual: Option<Digest>,
    pub reason: String,
}

/// `[a-z0-9]+([+._-][a-z0-9]+)*`, the image-spec algorithm grammar.
fn valid_algorithm(a: &str) -> bool {
    !a.is_empty() && a.split(['+', '.', '_', '-']).all(|part| !part.is_empty() && part.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit()))
}

impl fmt::Display for Digest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl FromStr for Digest {
    type Err = DigestError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Digest::parse(s)
    }
}

impl TryFrom<String> for Digest {
    type Error = DigestError;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        Digest::parse(&s)
    }
}

impl From<Digest> for String {
    fn from(d: Digest) -> String {
        d.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sha256_of_empty_is_the_well_known_value() {
        assert_eq!(Digest::sha256(b"").as_str(), "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    }

    #[test]
    fn verify_detects_tampering() {
        let d = Digest::sha256(b"hello");
        assert!(d.verify(b"hello").is_ok());
        let err = d.verify(b"hellO").unwrap_err();
        assert_eq!(err.actual, Some(Digest::sha256(b"hellO")));
    }

    #[test]
    fn grammar() {
        for ok in [
            "sha256:c86f7763873b6c0aae22d963bab59b4f5debbed6685761b5951584f6efb0633b",
            "sha256+b64:c86f7763873b6c0aae22d963bab59b4f5debbed6685761b5951584f6efb0633b",
            "multihash+base58:QmRZxt2b1FVZPNqd8hsiykDL3TdBDeTSPX9Kv46HmX4Gx8",
        ] {
            assert!(Digest::parse(ok).is_ok(), "{ok}");
        }
        for bad in [
            "c86f7763",
            "sha256:",
            ":abc",
            "sha256+foo+-b:c86f",
            "SHA256:c86f7763873b6c0aae22d963bab59b4f5debbed6685761b5951584f6efb0633b",
            "sha256:C86F7763873B6C0AAE22D963BAB59B4F5DEBBED6685761B5951584F6EFB0633B",
            "sha256:c86f",
        ] {
            assert!(Digest::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn stream_hasher_agrees_with_one_shot() {
        let d = Digest::sha256(b"hello world");
        let mut h = StreamHasher::for_digest(&d).unwrap();
        h.update(b"hello ");
        h.update(b"world");
        assert!(h.verify(&d).is_ok());
        let mut h = StreamHasher::for_digest(&d).unwrap();
        h.update(b"hello");
        assert!(h.verify(&d).is_err());
        assert!(StreamHasher::for_digest(&Digest::parse("md5:d41d8cd98f00b204e9800998ecf8427e").unwrap()).is_none());
    }

    #[test]
    fn short_form() {
        let d = Digest::sha256(b"");
        assert_eq!(d.short(), "sha256:e3b0c44298fc");
    }
}
