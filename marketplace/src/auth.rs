//! Wallet sign-in (Sign-In with Ethereum, EIP-4361) and the bearer tokens of the sessions it opens.
//!
//! A client asks for a nonce, signs the EIP-4361 message for it with its wallet (EIP-191 `personal_sign`), and
//! trades message and signature for a session token. [`SignInPolicy::check`] decides whether a signed message signs
//! this service in: it must name this service's domain, an URI on its origin and its chain, be within its time
//! bounds, and recover to the address it names. The nonce itself is checked by the caller against the database,
//! where using it deletes it, so a signed message works once. Contract wallets (EIP-1271) are not supported.

use std::str::FromStr;

use alloy::primitives::Address;
use sha2::{Digest, Sha256};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

/// The statement of the messages this service hands out.
pub const STATEMENT: &str = "Sign in to the Tern marketplace.";

/// How far a client's clock may run ahead of the service's when it dates a message.
const CLOCK_SKEW_SECS: i64 = 60;

/// Why a signed message does not sign in.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SignInError {
    /// The text is not an EIP-4361 message.
    #[error(
        "the message is not an EIP-4361 sign-in message ({0}); sign the `message` that POST /v1/auth/nonce returns"
    )]
    Malformed(String),
    /// The signature is not 65 bytes of hex.
    #[error("the signature is not 0x and 130 hex digits (r, s, v): {0}")]
    MalformedSignature(String),
    /// The message was written for another site.
    #[error("the message signs in to {got}, not to {expected}; sign a message for {expected}")]
    WrongDomain {
        /// This service's domain.
        expected: String,
        /// The message's.
        got: String,
    },
    /// The message's URI is not on this service's origin.
    #[error(
        "the message's URI {got} is not on {expected}; sign a message whose URI is on {expected}"
    )]
    WrongUri {
        /// This service's origin.
        expected: String,
        /// The message's URI.
        got: String,
    },
    /// The message names another chain.
    #[error("the message is for chain {got}, but this marketplace settles on chain {expected}")]
    WrongChain {
        /// This service's chain id.
        expected: u64,
        /// The message's.
        got: u64,
    },
    /// The message's `Expiration Time` has passed.
    #[error("the message expired at {0}; sign a new one")]
    Expired(String),
    /// The message's `Not Before` has not come yet.
    #[error("the message is not valid before {0}; sign one without a future `Not Before`")]
    NotYetValid(String),
    /// The message is dated in the future, or too long ago for its nonce to still be valid.
    #[error("the message was issued at {0}, which is not now; check the clock and sign a new one")]
    BadIssuedAt(String),
    /// The signature does not recover to the message's address.
    #[error(
        "the signature was not made by {0}; sign the exact message text with that address's key (EIP-191)"
    )]
    WrongSigner(Address),
}

/// A message that signs in: who, with which nonce, and until when at most.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignIn {
    /// The address that signed.
    pub address: Address,
    /// The nonce it signed, still to be used up.
    pub nonce: String,
    /// The message's `Expiration Time`, in Unix seconds, if it has one.
    pub expires_at: Option<i64>,
}

/// What a sign-in message must say to sign in to this service.
#[derive(Debug, Clone)]
pub struct SignInPolicy {
    /// `host[:port]` as users reach the service.
    domain: String,
    /// `scheme://host[:port]`.
    origin: String,
    chain_id: u64,
    /// How long a nonce is valid; a message issued longer ago than this cannot be fresh.
    nonce_ttl_secs: i64,
}

/// A public URL that cannot name the service.
#[derive(Debug, Clone, thiserror::Error)]
#[error(
    "public_url {0:?} is not an absolute http(s) URL such as http://127.0.0.1:8080: it is the origin wallets sign in to"
)]
pub struct BadPublicUrl(pub String);

impl SignInPolicy {
    /// The policy of a service reached at `public_url` and settling on `chain_id`.
    pub fn new(public_url: &str, chain_id: u64, nonce_ttl_secs: i64) -> Result<Self, BadPublicUrl> {
        let uri =
            axum::http::Uri::from_str(public_url).map_err(|_| BadPublicUrl(public_url.into()))?;
        let (Some(scheme), Some(authority)) = (uri.scheme_str(), uri.authority()) else {
            return Err(BadPublicUrl(public_url.into()));
        };
        if scheme != "http" && scheme != "https" {
            return Err(BadPublicUrl(public_url.into()));
        }
        Ok(Self {
            domain: authority.to_string(),
            origin: format!("{scheme}://{authority}"),
            chain_id,
            nonce_ttl_secs,
        })
    }

    /// This service's domain, as messages must name it.
    pub fn domain(&self) -> &str {
        &self.domain
    }

    /// The chain sign-in messages must name.
    pub fn chain_id(&self) -> u64 {
        self.chain_id
    }

    /// The message `address` signs to sign in with `nonce`, issued at `now` (Unix seconds).
    pub fn message(&self, address: Address, nonce: &str, now: i64) -> String {
        format!(
            "{domain} wants you to sign in with your Ethereum account:\n{address}\n\n{STATEMENT}\n\nURI: {origin}\n\
             Version: 1\nChain ID: {chain}\nNonce: {nonce}\nIssued At: {issued}",
            domain = self.domain,
            address = address.to_checksum(None),
            origin = self.origin,
            chain = self.chain_id,
            issued = rfc3339(now),
        )
    }

    /// Whether `text`, signed with `signature`, signs in at `now` (Unix seconds); the nonce is left to the caller.
    pub fn check(&self, text: &str, signature: &str, now: i64) -> Result<SignIn, SignInError> {
        let message =
            siwe::Message::from_str(text).map_err(|e| SignInError::Malformed(e.to_string()))?;
        let signature = parse_signature(signature)?;
        let domain = message.domain.to_string();
        if domain != self.domain {
            return Err(SignInError::WrongDomain {
                expected: self.domain.clone(),
                got: domain,
            });
        }
        let uri = message.uri.as_str();
        let on_origin = uri
            .strip_prefix(&self.origin)
            .is_some_and(|rest| rest.is_empty() || rest.starts_with('/'));
        if !on_origin {
            return Err(SignInError::WrongUri {
                expected: self.origin.clone(),
                got: uri.to_string(),
            });
        }
        if message.chain_id != self.chain_id {
            return Err(SignInError::WrongChain {
                expected: self.chain_id,
                got: message.chain_id,
            });
        }
        let issued = message.issued_at.as_ref().unix_timestamp();
        if issued > now + CLOCK_SKEW_SECS || issued < now - self.nonce_ttl_secs - CLOCK_SKEW_SECS {
            return Err(SignInError::BadIssuedAt(message.issued_at.to_string()));
        }
        if let Some(expires) = &message.expiration_time
            && expires.as_ref().unix_timestamp() <= now
        {
            return Err(SignInError::Expired(expires.to_string()));
        }
        if let Some(not_before) = &message.not_before
            && not_before.as_ref().unix_timestamp() > now
        {
            return Err(SignInError::NotYetValid(not_before.to_string()));
        }
        let address = Address::from(message.address);
        message
            .verify_eip191(&signature)
            .map_err(|_| SignInError::WrongSigner(address))?;
        Ok(SignIn {
            address,
            nonce: message.nonce,
            expires_at: message.expiration_time.map(|t| t.as_ref().unix_timestamp()),
        })
    }
}

/// `0x` + r, s, v as 130 hex digits.
fn parse_signature(hex: &str) -> Result<[u8; 65], SignInError> {
    let digits = hex.strip_prefix("0x").unwrap_or(hex);
    let mut bytes = [0u8; 65];
    alloy::hex::decode_to_slice(digits, &mut bytes)
        .map_err(|e| SignInError::MalformedSignature(e.to_string()))?;
    Ok(bytes)
}

/// `seconds` as an RFC 3339 UTC timestamp.
pub fn rfc3339(seconds: i64) -> String {
    OffsetDateTime::from_unix_timestamp(seconds)
        .ok()
        .and_then(|t| t.format(&Rfc3339).ok())
        .unwrap_or_default()
}

/// A fresh random sign-in nonce: 22 alphanumeric characters (131 bits), as EIP-4361 asks (at least 8).
pub fn new_nonce() -> Result<String, getrandom::Error> {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    let mut nonce = String::with_capacity(22);
    while nonce.len() < 22 {
        let mut bytes = [0u8; 32];
        getrandom::fill(&mut bytes)?;
        // Rejection sampling: 248 = 4 * 62 keeps every character equally likely.
        nonce.extend(
            bytes
                .iter()
                .filter(|&&b| b < 248)
                .map(|&b| char::from(ALPHABET[usize::from(b) % 62]))
                .take(22 - nonce.len()),
        );
    }
    Ok(nonce)
}

/// A fresh session token (`tern_` and 64 hex digits) and the hash the database keeps of it.
pub fn new_token() -> Result<(String, String), getrandom::Error> {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes)?;
    let token = format!("tern_{}", alloy::hex::encode(bytes));
    let hash = token_hash(&token);
    Ok((token, hash))
}

/// What the database keeps of a session token: its sha256, hex.
pub fn token_hash(token: &str) -> String {
    alloy::hex::encode(Sha256::digest(token.as_bytes()))
}

/// An address as the database keeps it: `0x` and 40 lowercase hex digits.
pub fn address_key(address: Address) -> String {
    format!("{address:#x}")
}

#[cfg(test)]
mod tests {
    use alloy::signers::SignerSync;
    use alloy::signers::local::PrivateKeySigner;

    use super::*;

    const NOW: i64 = 1_790_000_000;

    fn policy() -> SignInPolicy {
        SignInPolicy::new("http://127.0.0.1:8080", 31337, 300).unwrap()
    }

    fn wallet(seed: u8) -> PrivateKeySigner {
        PrivateKeySigner::from_bytes(&[seed; 32].into()).unwrap()
    }

    fn sign(wallet: &PrivateKeySigner, text: &str) -> String {
        let signature = wallet.sign_message_sync(text.as_bytes()).unwrap();
        format!("0x{}", alloy::hex::encode(signature.as_bytes()))
    }

    #[test]
    fn the_message_handed_out_signs_in() {
        let wallet = wallet(7);
        let text = policy().message(wallet.address(), "abcdefgh12345678", NOW);
        assert!(
            text.starts_with("127.0.0.1:8080 wants you to sign in"),
            "{text}"
        );
        let signed = policy()
            .check(&text, &sign(&wallet, &text), NOW + 5)
            .unwrap();
        assert_eq!(signed.address, wallet.address());
        assert_eq!(signed.nonce, "abcdefgh12345678");
        assert_eq!(signed.expires_at, None);
    }

    #[test]
    fn another_signer_domain_chain_or_time_is_refused() {
        let alice = wallet(1);
        let mallory = wallet(2);
        let text = policy().message(alice.address(), "abcdefgh12345678", NOW);
        let err = policy()
            .check(&text, &sign(&mallory, &text), NOW)
            .unwrap_err();
        assert_eq!(err, SignInError::WrongSigner(alice.address()));

        let other_site = SignInPolicy::new("https://evil.example", 31337, 300).unwrap();
        let text = other_site.message(alice.address(), "abcdefgh12345678", NOW);
        let err = policy()
            .check(&text, &sign(&alice, &text), NOW)
            .unwrap_err();
        assert!(matches!(err, SignInError::WrongDomain { .. }), "{err}");

        let other_chain = SignInPolicy::new("http://127.0.0.1:8080", 1, 300).unwrap();
        let text = other_chain.message(alice.address(), "abcdefgh12345678", NOW);
        let err = policy()
            .check(&text, &sign(&alice, &text), NOW)
            .unwrap_err();
        assert_eq!(
            err,
            SignInError::WrongChain {
                expected: 31337,
                got: 1
            }
        );

        let text = policy().message(alice.address(), "abcdefgh12345678", NOW);
        let stale = policy()
            .check(&text, &sign(&alice, &text), NOW + 3600)
            .unwrap_err();
        assert!(matches!(stale, SignInError::BadIssuedAt(_)), "{stale}");
        let future = policy()
            .check(&text, &sign(&alice, &text), NOW - 3600)
            .unwrap_err();
        assert!(matches!(future, SignInError::BadIssuedAt(_)), "{future}");
    }

    #[test]
    fn expiration_and_not_before_are_honoured() {
        let alice = wallet(1);
        let base = policy().message(alice.address(), "abcdefgh12345678", NOW);
        let expiring = format!("{base}\nExpiration Time: {}", rfc3339(NOW + 10));
        let signed = policy()
            .check(&expiring, &sign(&alice, &expiring), NOW)
            .unwrap();
        assert_eq!(signed.expires_at, Some(NOW + 10));
        let err = policy()
            .check(&expiring, &sign(&alice, &expiring), NOW + 10)
            .unwrap_err();
        assert!(matches!(err, SignInError::Expired(_)), "{err}");

        let later = format!("{base}\nNot Before: {}", rfc3339(NOW + 30));
        let err = policy()
            .check(&later, &sign(&alice, &later), NOW)
            .unwrap_err();
        assert!(matches!(err, SignInError::NotYetValid(_)), "{err}");
    }

    #[test]
    fn malformed_messages_and_signatures_say_what_is_wrong() {
        let alice = wallet(1);
        let text = policy().message(alice.address(), "abcdefgh12345678", NOW);
        let err = policy()
            .check("hello", &sign(&alice, "hello"), NOW)
            .unwrap_err();
        assert!(matches!(err, SignInError::Malformed(_)), "{err}");
        let err = policy().check(&text, "0x1234", NOW).unwrap_err();
        assert!(matches!(err, SignInError::MalformedSignature(_)), "{err}");
        let tampered = text.replace("Chain ID: 31337", "Chain ID: 31337\n");
        assert!(
            policy()
                .check(&tampered, &sign(&alice, &text), NOW)
                .is_err()
        );
    }

    #[test]
    fn nonces_and_tokens_are_fresh() {
        let a = new_nonce().unwrap();
        let b = new_nonce().unwrap();
        assert_eq!(a.len(), 22);
        assert!(a.chars().all(|c| c.is_ascii_alphanumeric()));
        assert_ne!(a, b);
        let (token, hash) = new_token().unwrap();
        assert!(token.starts_with("tern_") && token.len() == 69);
        assert_eq!(hash, token_hash(&token));
        assert_ne!(new_token().unwrap().0, token);
    }

    #[test]
    fn public_url_must_be_an_http_origin() {
        assert!(SignInPolicy::new("127.0.0.1:8080", 1, 300).is_err());
        assert!(SignInPolicy::new("ftp://x", 1, 300).is_err());
        assert_eq!(
            SignInPolicy::new("https://tern.example/app", 1, 300)
                .unwrap()
                .domain(),
            "tern.example"
        );
    }
}
