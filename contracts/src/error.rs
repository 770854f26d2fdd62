//! [`ContractError`]: what a chain call can fail with, reverts decoded.

use alloy::primitives::{B256, Bytes, U256};
use alloy::sol_types::SolInterface;

use crate::bindings::{MockUSDT, TernMarket};
use crate::trace::TraceError;
use crate::types::JobState;

/// A custom error of the market, decoded from revert data (see `solidity/src/libraries/Errors.sol`).
pub type MarketRevert = TernMarket::TernMarketErrors;

/// A custom error of the token (the USDT mock's), bubbled up through `SafeERC20` or from a direct call.
pub type TokenRevert = MockUSDT::MockUSDTErrors;

/// Why a call to the market or its token failed.
///
/// Reverts are decoded: a custom error of the market comes back as [`ContractError::Market`]
/// holding the `sol!`-generated error enum, whose fields can be matched on; its `Display`
/// names the error and its fields, e.g.
/// `market reverted: WrongState { jobId: 7, actual: Claimed, expected: Open }`.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ContractError {
    /// The market reverted with one of its custom errors.
    #[error("market reverted: {}", describe_market(.0))]
    Market(MarketRevert),
    /// The token reverted with one of its custom errors.
    #[error("token reverted: {}", describe_token(.0))]
    Token(TokenRevert),
    /// A revert that is not a custom error of the market or the token: `Error(string)`, a
    /// panic, or data nobody here knows how to decode.
    #[error("reverted: {reason}")]
    Reverted {
        /// What the revert data says, as far as it could be decoded.
        reason: String,
        /// The raw revert data.
        data: Bytes,
    },
    /// A transaction was mined but failed without revert data (e.g. out of gas).
    #[error("transaction {tx_hash} failed on chain after {gas_used} gas")]
    Failed {
        /// The failed transaction.
        tx_hash: B256,
        /// Gas it used.
        gas_used: u64,
    },
    /// No job with this id exists on the market.
    #[error("job {0:#x} not found")]
    JobNotFound(U256),
    /// An event the call or the log search needed is not there.
    #[error("event {event} missing for {context}")]
    EventMissing {
        /// The event's name.
        event: &'static str,
        /// What was searched: a transaction or a job.
        context: String,
    },
    /// A value the contract returned does not fit the Rust enum it stands for.
    #[error("unknown {name} value {value}")]
    UnknownEnumValue {
        /// The enum's name.
        name: &'static str,
        /// The value returned.
        value: u8,
    },
    /// The audit cannot start yet: its anchor block is not mined.
    #[error("audit seed not ready: anchor block {anchor_block} is not mined yet")]
    SeedNotReady {
        /// The anchor block of the result.
        anchor_block: u64,
    },
    /// A trace commitment could not be built or a proof could not be taken.
    #[error(transparent)]
    Trace(#[from] TraceError),
    /// Signing (a permit) failed.
    #[error("signing failed: {0}")]
    Signer(#[from] alloy::signers::Error),
    /// The RPC node could not be reached or answered with an error that is not a revert.
    #[error("transport error: {0}")]
    Transport(#[source] Box<dyn std::error::Error + Send + Sync + 'static>),
    /// The local development chain could not be started or prepared.
    #[error("devnet: {0}")]
    Devnet(String),
}

impl ContractError {
    /// The decoded custom error of the market, if that is what this is.
    pub fn market_revert(&self) -> Option<&MarketRevert> {
        match self {
            Self::Market(e) => Some(e),
            _ => None,
        }
    }

    /// Classifies revert data: a market error, a token error, or a generic revert.
    pub fn from_revert_data(data: Bytes) -> Self {
        if let Ok(e) = MarketRevert::abi_decode(&data) {
            return Self::Market(e);
        }
        if let Ok(e) = TokenRevert::abi_decode(&data) {
            return Self::Token(e);
        }
        let reason = match alloy::sol_types::GenericContractError::abi_decode(&data) {
            Ok(generic) => generic.to_string(),
            Err(_) if data.is_empty() => "no revert data".to_owned(),
            Err(_) => format!("undecoded revert data {data}"),
        };
        Self::Reverted { reason, data }
    }

    pub(crate) fn transport(e: impl std::error::Error + Send + Sync + 'static) -> Self {
        Self::Transport(Box::new(e))
    }

    pub(crate) fn event_missing(event: &'static str, context: impl Into<String>) -> Self {
        Self::EventMissing {
            event,
            context: context.into(),
        }
    }
}

impl From<alloy::contract::Error> for ContractError {
    fn from(e: alloy::contract::Error) -> Self {
        match e.as_revert_data() {
            Some(data) => Self::from_revert_data(data),
            None => Self::transport(e),
        }
    }
}

impl From<alloy::transports::TransportError> for ContractError {
    fn from(e: alloy::transports::TransportError) -> Self {
        match e.as_error_resp().and_then(|resp| resp.as_revert_data()) {
            Some(data) => Self::from_revert_data(data),
            None => Self::transport(e),
        }
    }
}

impl From<alloy::providers::PendingTransactionError> for ContractError {
    fn from(e: alloy::providers::PendingTransactionError) -> Self {
        Self::transport(e)
    }
}

/// Names the error and its fields; job states by name.
fn describe_market(e: &MarketRevert) -> String {
    use TernMarket::TernMarketErrors as E;
    let state = |v: u8| JobState::from_u8(v).map_or_else(|| format!("{v}"), |s| s.to_string());
    match e {
        E::WrongState(w) => format!(
            "WrongState {{ jobId: {:#x}, actual: {}, expected: {} }}",
            w.jobId,
            state(w.actual),
            state(w.expected)
        ),
        E::NothingToExpire(w) => format!(
            "NothingToExpire {{ jobId: {:#x}, state: {} }}",
            w.jobId,
            state(w.state)
        ),
        E::InvalidConfig(c) => format!("InvalidConfig {{ reason: {:?} }}", c.reason),
        other => strip_variant(&format!("{other:?}")),
    }
}

fn describe_token(e: &TokenRevert) -> String {
    strip_variant(&format!("{e:?}"))
}

/// `Name(Name { a: 1 })` -> `Name { a: 1 }`; `Name(Name)` -> `Name`.
fn strip_variant(debug: &str) -> String {
    debug
        .split_once('(')
        .and_then(|(_, rest)| rest.strip_suffix(')'))
        .map_or_else(|| debug.to_owned(), str::to_owned)
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloy::sol_types::SolError;

    #[test]
    fn decodes_and_names_market_errors() {
        let data = TernMarket::WrongState {
            jobId: U256::from(7),
            actual: JobState::Claimed as u8,
            expected: JobState::Open as u8,
        }
        .abi_encode();
        let err = ContractError::from_revert_data(data.into());
        assert!(matches!(
            err.market_revert(),
            Some(MarketRevert::WrongState(w)) if w.actual == 2
        ));
        assert_eq!(
            err.to_string(),
            "market reverted: WrongState { jobId: 0x7, actual: Claimed, expected: Open }"
        );

        let data = TernMarket::InvalidProof {
            jobId: U256::from(1),
            checkpoint: U256::from(3),
        }
        .abi_encode();
        let msg = ContractError::from_revert_data(data.into()).to_string();
        assert!(msg.starts_with("market reverted: InvalidProof {"), "{msg}");
        assert!(msg.contains("checkpoint: 3"), "{msg}");

        let msg =
            ContractError::from_revert_data(TernMarket::LengthMismatch {}.abi_encode().into())
                .to_string();
        assert_eq!(msg, "market reverted: LengthMismatch");
    }

    #[test]
    fn decodes_token_and_generic_reverts() {
        let data = MockUSDT::ApproveFromNonZero {
            current: U256::from(1),
            requested: U256::from(2),
        }
        .abi_encode();
        let err = ContractError::from_revert_data(data.into());
        assert!(matches!(err, ContractError::Token(_)), "{err}");
        assert!(err.to_string().contains("ApproveFromNonZero"), "{err}");

        let data = alloy::sol_types::Revert::from("boom").abi_encode();
        assert_eq!(
            ContractError::from_revert_data(data.into()).to_string(),
            "reverted: revert: boom"
        );
        assert_eq!(
            ContractError::from_revert_data(Bytes::new()).to_string(),
            "reverted: no revert data"
        );
    }
}
