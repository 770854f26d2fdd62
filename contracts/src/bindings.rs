//! alloy `sol!` bindings generated from the committed forge artifacts in `contracts/artifacts/`.
//!
//! The artifacts are trimmed copies of forge's output (ABI and bytecode only), written by
//! `contracts/scripts/artifacts.mjs` and checked for freshness by `deploy/test.sh`, so
//! building this crate needs no Solidity compiler. Regenerate them after changing a contract:
//!
//! ```text
//! contracts/forge.sh build && node contracts/scripts/artifacts.mjs
//! ```
//!
//! Each contract becomes a module with its functions' call types, its events, its custom
//! errors (`TernMarket::TernMarketErrors`), the structs of its ABI (`TernMarket::JobParams`,
//! `TernMarket::Job`, …), a `deploy` function and an `Instance` type for calls over a provider.
//! Solidity enums appear as `u8` in the ABI; [`crate::JobState`] names them.
#![allow(missing_docs, clippy::too_many_arguments)]

alloy::sol!(
    #[sol(rpc)]
    #[derive(Debug, PartialEq, Eq)]
    TernMarket,
    "artifacts/TernMarket.json"
);

alloy::sol!(
    #[sol(rpc)]
    #[derive(Debug, PartialEq, Eq)]
    MockUSDT,
    "artifacts/MockUSDT.json"
);

alloy::sol!(
    #[sol(rpc)]
    #[derive(Debug, PartialEq, Eq)]
    MockERC20,
    "artifacts/MockERC20.json"
);

alloy::sol!(
    #[sol(rpc)]
    #[derive(Debug, PartialEq, Eq)]
    MockPermitToken,
    "artifacts/MockPermitToken.json"
);

alloy::sol! {
    /// The token calls the client makes, valid for USDT (no return values) and standard ERC-20s alike:
    /// transactions do not decode return data, so `approve` is declared without one.
    #[sol(rpc)]
    #[derive(Debug, PartialEq, Eq)]
    interface IToken {
        function approve(address spender, uint256 value) external;
        function allowance(address owner, address spender) external view returns (uint256);
        function balanceOf(address account) external view returns (uint256);
        function nonces(address owner) external view returns (uint256);
        function DOMAIN_SEPARATOR() external view returns (bytes32);
    }
}

alloy::sol! {
    /// The open `mint` of the local-chain mock tokens (MockUSDT, MockERC20, MockPermitToken).
    #[sol(rpc)]
    #[derive(Debug, PartialEq, Eq)]
    interface IFaucet {
        function mint(address to, uint256 value) external;
    }
}
