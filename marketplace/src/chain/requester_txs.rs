//! The transactions a requester signs to post a job: the token approval (with USDT's reset to zero first where an
//! allowance is left over) and `createJob`. The service builds them; the requester's wallet signs and sends them,
//! so the service never holds funds.

use alloy::primitives::{Address, U256};
use alloy::providers::{DynProvider, Provider, ProviderBuilder};
use alloy::sol_types::SolCall;
use tern_contracts::JobParams;
use tern_contracts::bindings::{IToken, TernMarket};
use tokio::sync::OnceCell;

/// One transaction for the requester's wallet to send, in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnsignedTx {
    /// The contract called.
    pub to: Address,
    /// The calldata.
    pub data: Vec<u8>,
    /// What it does, for people.
    pub description: String,
}

/// Why the transactions could not be built.
#[derive(Debug, thiserror::Error)]
pub enum RequesterTxError {
    /// The chain node could not be asked.
    /// (The node's URL is left out: it often carries an API key, and these errors reach the logs.)
    #[error("the chain node did not answer: {message}")]
    Rpc {
        /// Its error.
        message: String,
    },
}

/// The market a service posts jobs to, over a read-only RPC connection.
#[derive(Debug)]
pub struct RequesterTxs {
    provider: DynProvider,
    market: Address,
    /// The market's token, read once.
    token: OnceCell<Address>,
}

impl RequesterTxs {
    /// Transactions for the market at `market`, reading chain state from `rpc_url`.
    pub fn new(rpc_url: &str, market: Address) -> Result<Self, RequesterTxError> {
        let rpc = |message: String| RequesterTxError::Rpc { message };
        let url = rpc_url
            .parse()
            .map_err(|e| rpc(format!("not a URL: {e}")))?;
        Ok(Self {
            provider: ProviderBuilder::new().connect_http(url).erased(),
            market,
            token: OnceCell::new(),
        })
    }

    /// The market contract.
    pub fn market(&self) -> Address {
        self.market
    }

    /// The market's token.
    pub async fn token(&self) -> Result<Address, RequesterTxError> {
        self.token
            .get_or_try_init(|| async {
                TernMarket::new(self.market, &self.provider)
                    .token()
                    .call()
                    .await
                    .map_err(|e| self.rpc(e))
            })
            .await
            .copied()
    }

    /// What `requester` sends to post a job with `params`: an approval of the escrow unless the allowance already
    /// covers it (preceded by an approval of zero if some allowance is left, which USDT requires), then `createJob`.
    pub async fn create_job(
        &self,
        requester: Address,
        params: &JobParams,
    ) -> Result<Vec<UnsignedTx>, RequesterTxError> {
        let token = self.token().await?;
        let escrow = params.escrow();
        let allowance = IToken::new(token, &self.provider)
            .allowance(requester, self.market)
            .call()
            .await
            .map_err(|e| self.rpc(e))?;
        let approve = |value: U256, description: String| UnsignedTx {
            to: token,
            data: IToken::approveCall {
                spender: self.market,
                value,
            }
            .abi_encode(),
            description,
        };
        let mut txs = Vec::new();
        if allowance < escrow {
            if !allowance.is_zero() {
                txs.push(approve(
                    U256::ZERO,
                    "reset the market's token allowance to 0 (USDT refuses to change a non-zero allowance)".into(),
                ));
            }
            txs.push(approve(
                escrow,
                format!("allow the market to take the escrow, {escrow} base units"),
            ));
        }
        txs.push(UnsignedTx {
            to: self.market,
            data: TernMarket::createJobCall {
                params: params.into(),
            }
            .abi_encode(),
            description: "create the job: the market pulls the escrow and opens the job".into(),
        });
        Ok(txs)
    }

    fn rpc(&self, err: impl std::fmt::Display) -> RequesterTxError {
        RequesterTxError::Rpc {
            message: err.to_string(),
        }
    }
}
