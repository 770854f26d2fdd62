//! Wallet sign-in: `/v1/auth/*`.

pub(crate) mod login;
pub(crate) mod logout;
pub(crate) mod nonce;
pub(crate) mod session;
