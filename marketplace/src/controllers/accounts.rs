//! Accounts: `/v1/accounts`, what the market's staking and payout events say of an address.

pub(crate) mod get;
