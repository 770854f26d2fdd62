//! The settlement sender's outbox (`outbox_intents`, `outbox_txs`, `outbox_nonces`): the transactions the
//! marketplace itself sends, see [`crate::chain::sender`].
//!
//! An intent is a call (target and calldata) under an idempotency key; enqueueing a key twice is a no-op. Its
//! nonce is reserved in the same database transaction that records its first signed transaction
//! ([`Database::outbox_sign_first`]), and every transaction signed for it (the first and each fee bump, all with
//! that nonce) is recorded before it is broadcast. So a process that crashes at any point finds, on restart,
//! either an intent that was never signed (it is sent normally) or the exact bytes it may have broadcast (they are
//! broadcast again, never re-signed with a new nonce).

use sqlx::Row;

use super::{BeginWrite, Database, on_pool, unix_now};

/// Where an intent is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum IntentState {
    /// Waiting to be signed; no nonce yet.
    Queued,
    /// Signed with a nonce and recorded (and broadcast, unless the process stopped in between); not yet mined.
    Sent,
    /// One of its transactions was mined and succeeded.
    Confirmed,
    /// It reverted: refused when its gas was estimated (no nonce used) or mined and reverted.
    Failed,
    /// Its nonce was used on chain by a transaction that is none of its own (the key is used elsewhere too).
    Superseded,
}

impl IntentState {
    /// The name stored in the `state` column.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Queued => "queued",
            Self::Sent => "sent",
            Self::Confirmed => "confirmed",
            Self::Failed => "failed",
            Self::Superseded => "superseded",
        }
    }

    /// The state stored as `name`.
    pub fn parse(name: &str) -> Option<Self> {
        Some(match name {
            "queued" => Self::Queued,
            "sent" => Self::Sent,
            "confirmed" => Self::Confirmed,
            "failed" => Self::Failed,
            "superseded" => Self::Superseded,
            _ => return None,
        })
    }

    /// Whether the intent is settled for good.
    pub fn is_final(self) -> bool {
        matches!(self, Self::Confirmed | Self::Failed | Self::Superseded)
    }
}

impl std::fmt::Display for IntentState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One intent of the outbox.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutboxIntent {
    /// Row id (order of enqueueing).
    pub id: i64,
    /// The idempotency key, e.g. `expire:<jobId>`.
    pub key: String,
    /// The called contract, `0x` and 40 lowercase hex digits.
    pub to: String,
    /// The calldata.
    pub calldata: Vec<u8>,
    /// Where it is.
    pub state: IntentState,
    /// The sending address, once signed.
    pub sender: Option<String>,
    /// The nonce reserved for it, once signed.
    pub nonce: Option<i64>,
    /// The mined transaction, once settled on chain.
    pub tx_hash: Option<String>,
    /// The block it was mined in.
    pub block_number: Option<i64>,
    /// Why it failed or was superseded.
    pub error: Option<String>,
    /// When it was enqueued, in Unix seconds.
    pub created_at: i64,
    /// When it last changed state, in Unix seconds.
    pub updated_at: i64,
}

/// A signed transaction of an intent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutboxTx {
    /// Its hash, `0x` and 64 lowercase hex digits.
    pub tx_hash: String,
    /// The intent it carries.
    pub intent_id: i64,
    /// 0 for the first transaction, then 1, 2, ... for each fee bump.
    pub attempt: i64,
    /// The intent's nonce.
    pub nonce: i64,
    /// Its gas limit.
    pub gas_limit: i64,
    /// EIP-1559 max fee per gas, in wei.
    pub max_fee_per_gas: i64,
    /// EIP-1559 max priority fee per gas, in wei.
    pub max_priority_fee_per_gas: i64,
    /// The signed EIP-2718 envelope.
    pub raw: Vec<u8>,
    /// The chain's latest block when it was signed.
    pub signed_block: i64,
    /// When it was signed, in Unix seconds.
    pub created_at: i64,
}

/// A transaction to record: everything but the intent, nonce and attempt number, which the database assigns.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewOutboxTx {
    /// Its hash.
    pub tx_hash: String,
    /// Its gas limit.
    pub gas_limit: i64,
    /// EIP-1559 max fee per gas, in wei.
    pub max_fee_per_gas: i64,
    /// EIP-1559 max priority fee per gas, in wei.
    pub max_priority_fee_per_gas: i64,
    /// The signed EIP-2718 envelope.
    pub raw: Vec<u8>,
    /// The chain's latest block when it was signed.
    pub signed_block: i64,
}

/// Why [`Database::outbox_sign_first`] recorded nothing.
#[derive(Debug, thiserror::Error)]
pub enum OutboxSignError<E> {
    /// The database failed.
    #[error(transparent)]
    Db(#[from] sqlx::Error),
    /// The signing closure failed.
    #[error("signing failed: {0}")]
    Sign(E),
}

const INTENT_COLUMNS: &str = "id, idempotency_key, to_address, calldata, state, sender_address, nonce, tx_hash, \
                              block_number, error, created_at, updated_at";
const TX_COLUMNS: &str = "tx_hash, intent_id, attempt, nonce, gas_limit, max_fee_per_gas, \
                          max_priority_fee_per_gas, raw, signed_block, created_at";

fn intent_of<R: Row>(row: &R) -> Result<OutboxIntent, sqlx::Error>
where
    for<'a> &'a str: sqlx::ColumnIndex<R>,
    for<'a> i64: sqlx::Decode<'a, R::Database> + sqlx::Type<R::Database>,
    for<'a> String: sqlx::Decode<'a, R::Database> + sqlx::Type<R::Database>,
    for<'a> Vec<u8>: sqlx::Decode<'a, R::Database> + sqlx::Type<R::Database>,
{
    let state: String = row.try_get("state")?;
    Ok(OutboxIntent {
        id: row.try_get("id")?,
        key: row.try_get("idempotency_key")?,
        to: row.try_get("to_address")?,
        calldata: row.try_get("calldata")?,
        state: IntentState::parse(&state).ok_or_else(|| sqlx::Error::ColumnDecode {
            index: "state".into(),
            source: format!("unknown outbox state {state:?}").into(),
        })?,
        sender: row.try_get("sender_address")?,
        nonce: row.try_get("nonce")?,
        tx_hash: row.try_get("tx_hash")?,
        block_number: row.try_get("block_number")?,
        error: row.try_get("error")?,
        created_at: row.try_get("created_at")?,
        updated_at: row.try_get("updated_at")?,
    })
}

fn tx_of<R: Row>(row: &R) -> Result<OutboxTx, sqlx::Error>
where
    for<'a> &'a str: sqlx::ColumnIndex<R>,
    for<'a> i64: sqlx::Decode<'a, R::Database> + sqlx::Type<R::Database>,
    for<'a> String: sqlx::Decode<'a, R::Database> + sqlx::Type<R::Database>,
    for<'a> Vec<u8>: sqlx::Decode<'a, R::Database> + sqlx::Type<R::Database>,
{
    Ok(OutboxTx {
        tx_hash: row.try_get("tx_hash")?,
        intent_id: row.try_get("intent_id")?,
        attempt: row.try_get("attempt")?,
        nonce: row.try_get("nonce")?,
        gas_limit: row.try_get("gas_limit")?,
        max_fee_per_gas: row.try_get("max_fee_per_gas")?,
        max_priority_fee_per_gas: row.try_get("max_priority_fee_per_gas")?,
        raw: row.try_get("raw")?,
        signed_block: row.try_get("signed_block")?,
        created_at: row.try_get("created_at")?,
    })
}

/// `nonce` as stored (nonces above `i64::MAX` do not occur: an account would need that many transactions).
fn stored_nonce(nonce: u64) -> Result<i64, sqlx::Error> {
    i64::try_from(nonce).map_err(|_| sqlx::Error::Protocol(format!("nonce {nonce} out of range")))
}

impl Database {
    /// Adds an intent to call `to` (`0x` and 40 lowercase hex digits) with `calldata` under `key`, queued; true
    /// when it is new. A key that is already in the outbox, in any state, is left as it is.
    pub async fn enqueue_outbox(
        &self,
        key: &str,
        to: &str,
        calldata: &[u8],
    ) -> Result<bool, sqlx::Error> {
        const SQL: &str = "INSERT INTO outbox_intents \
                           (idempotency_key, to_address, calldata, state, created_at, updated_at) \
                           VALUES ($1, $2, $3, 'queued', $4, $4) ON CONFLICT (idempotency_key) DO NOTHING";
        let now = unix_now();
        let rows = on_pool!(self, pool => sqlx::query(SQL)
            .bind(key)
            .bind(to)
            .bind(calldata)
            .bind(now)
            .execute(pool)
            .await?
            .rows_affected());
        Ok(rows == 1)
    }

    /// The intent enqueued under `key`, if any.
    pub async fn outbox_intent(&self, key: &str) -> Result<Option<OutboxIntent>, sqlx::Error> {
        let sql = format!("SELECT {INTENT_COLUMNS} FROM outbox_intents WHERE idempotency_key = $1");
        on_pool!(self, pool => sqlx::query(&sql)
            .bind(key)
            .fetch_optional(pool)
            .await?
            .map(|row| intent_of(&row))
            .transpose())
    }

    /// Up to `limit` queued intents, oldest first.
    pub async fn outbox_queued(&self, limit: i64) -> Result<Vec<OutboxIntent>, sqlx::Error> {
        let sql = format!(
            "SELECT {INTENT_COLUMNS} FROM outbox_intents WHERE state = 'queued' ORDER BY id LIMIT $1"
        );
        on_pool!(self, pool => sqlx::query(&sql)
            .bind(limit)
            .fetch_all(pool)
            .await?
            .iter()
            .map(intent_of)
            .collect())
    }

    /// The intents `sender` has signed that are not settled yet, by nonce.
    pub async fn outbox_in_flight(&self, sender: &str) -> Result<Vec<OutboxIntent>, sqlx::Error> {
        let sql = format!(
            "SELECT {INTENT_COLUMNS} FROM outbox_intents WHERE state = 'sent' AND sender_address = $1 \
             ORDER BY nonce"
        );
        on_pool!(self, pool => sqlx::query(&sql)
            .bind(sender)
            .fetch_all(pool)
            .await?
            .iter()
            .map(intent_of)
            .collect())
    }

    /// How many intents are in `state`.
    pub async fn outbox_count(&self, state: IntentState) -> Result<i64, sqlx::Error> {
        const SQL: &str = "SELECT COUNT(*) FROM outbox_intents WHERE state = $1";
        on_pool!(self, pool => sqlx::query_scalar(SQL)
            .bind(state.as_str())
            .fetch_one(pool)
            .await)
    }

    /// Every transaction signed for intent `intent_id`, first to last.
    pub async fn outbox_txs(&self, intent_id: i64) -> Result<Vec<OutboxTx>, sqlx::Error> {
        let sql =
            format!("SELECT {TX_COLUMNS} FROM outbox_txs WHERE intent_id = $1 ORDER BY attempt");
        on_pool!(self, pool => sqlx::query(&sql)
            .bind(intent_id)
            .fetch_all(pool)
            .await?
            .iter()
            .map(tx_of)
            .collect())
    }

    /// Signs queued intent `intent_id` and records it, in one database transaction: reserves `sender`'s next
    /// nonce on `chain_id` (at least `chain_nonce`, the chain's pending count, so the counter never lags the
    /// chain), calls `sign` with it, records the signed transaction as attempt 0 and marks the intent sent.
    ///
    /// Returns the recorded transaction, or `None` when the intent is no longer queued (nothing is reserved).
    /// When `sign` fails, nothing is recorded and the nonce is not used.
    pub async fn outbox_sign_first<E>(
        &self,
        intent_id: i64,
        sender: &str,
        chain_id: u64,
        chain_nonce: u64,
        sign: impl FnOnce(u64) -> Result<NewOutboxTx, E>,
    ) -> Result<Option<OutboxTx>, OutboxSignError<E>> {
        // The counter row exists from the sender's start-up reconciliation; this insert covers a sender used
        // without it. `CASE` is `max` in both dialects.
        const ENSURE: &str = "INSERT INTO outbox_nonces (sender_address, chain_id, next_nonce) \
                              VALUES ($1, $2, $3) ON CONFLICT (sender_address, chain_id) DO NOTHING";
        const RESERVE: &str = "UPDATE outbox_nonces \
                               SET next_nonce = (CASE WHEN next_nonce >= $3 THEN next_nonce ELSE $3 END) + 1 \
                               WHERE sender_address = $1 AND chain_id = $2 RETURNING next_nonce - 1";
        const MARK_SENT: &str = "UPDATE outbox_intents SET state = 'sent', sender_address = $2, nonce = $3, \
                                 updated_at = $4 WHERE id = $1 AND state = 'queued'";
        const INSERT_TX: &str = "INSERT INTO outbox_txs (tx_hash, intent_id, attempt, nonce, gas_limit, \
                                 max_fee_per_gas, max_priority_fee_per_gas, raw, signed_block, created_at) \
                                 VALUES ($1, $2, 0, $3, $4, $5, $6, $7, $8, $9)";
        let chain_id = i64::try_from(chain_id)
            .map_err(|_| sqlx::Error::Protocol(format!("chain id {chain_id} out of range")))?;
        let chain_nonce = stored_nonce(chain_nonce)?;
        let now = unix_now();
        on_pool!(self, pool => {
            let mut db_tx = pool.begin_write().await?;
            sqlx::query(ENSURE)
                .bind(sender)
                .bind(chain_id)
                .bind(chain_nonce)
                .execute(&mut *db_tx)
                .await?;
            let nonce: i64 = sqlx::query_scalar(RESERVE)
                .bind(sender)
                .bind(chain_id)
                .bind(chain_nonce)
                .fetch_one(&mut *db_tx)
                .await?;
            let marked = sqlx::query(MARK_SENT)
                .bind(intent_id)
                .bind(sender)
                .bind(nonce)
                .bind(now)
                .execute(&mut *db_tx)
                .await?
                .rows_affected();
            if marked != 1 {
                db_tx.rollback().await?;
                return Ok(None);
            }
            // Dropping `db_tx` on a signing error rolls the reservation back.
            let new = sign(nonce as u64).map_err(OutboxSignError::Sign)?;
            sqlx::query(INSERT_TX)
                .bind(&new.tx_hash)
                .bind(intent_id)
                .bind(nonce)
                .bind(new.gas_limit)
                .bind(new.max_fee_per_gas)
                .bind(new.max_priority_fee_per_gas)
                .bind(&new.raw)
                .bind(new.signed_block)
                .bind(now)
                .execute(&mut *db_tx)
                .await?;
            db_tx.commit().await?;
            Ok(Some(OutboxTx {
                tx_hash: new.tx_hash,
                intent_id,
                attempt: 0,
                nonce,
                gas_limit: new.gas_limit,
                max_fee_per_gas: new.max_fee_per_gas,
                max_priority_fee_per_gas: new.max_priority_fee_per_gas,
                raw: new.raw,
                signed_block: new.signed_block,
                created_at: now,
            }))
        })
    }

    /// Records a replacement of in-flight intent `intent_id` (same `nonce`) as attempt `attempt`, before it is
    /// broadcast.
    pub async fn outbox_add_tx(
        &self,
        intent_id: i64,
        nonce: i64,
        attempt: i64,
        new: NewOutboxTx,
    ) -> Result<OutboxTx, sqlx::Error> {
        const SQL: &str = "INSERT INTO outbox_txs (tx_hash, intent_id, attempt, nonce, gas_limit, \
                           max_fee_per_gas, max_priority_fee_per_gas, raw, signed_block, created_at) \
                           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)";
        let now = unix_now();
        on_pool!(self, pool => sqlx::query(SQL)
            .bind(&new.tx_hash)
            .bind(intent_id)
            .bind(attempt)
            .bind(nonce)
            .bind(new.gas_limit)
            .bind(new.max_fee_per_gas)
            .bind(new.max_priority_fee_per_gas)
            .bind(&new.raw)
            .bind(new.signed_block)
            .bind(now)
            .execute(pool)
            .await
            .map(|_| ()))?;
        Ok(OutboxTx {
            tx_hash: new.tx_hash,
            intent_id,
            attempt,
            nonce,
            gas_limit: new.gas_limit,
            max_fee_per_gas: new.max_fee_per_gas,
            max_priority_fee_per_gas: new.max_priority_fee_per_gas,
            raw: new.raw,
            signed_block: new.signed_block,
            created_at: now,
        })
    }

    /// Settles in-flight intent `intent_id` as `state` (confirmed, failed or superseded), with the mined
    /// transaction and its block when there is one and the reason when it did not succeed; false when it was not
    /// in flight.
    pub async fn outbox_settle(
        &self,
        intent_id: i64,
        state: IntentState,
        tx_hash: Option<&str>,
        block_number: Option<i64>,
        error: Option<&str>,
    ) -> Result<bool, sqlx::Error> {
        const SQL: &str = "UPDATE outbox_intents SET state = $2, tx_hash = $3, block_number = $4, error = $5, \
                           updated_at = $6 WHERE id = $1 AND state = 'sent'";
        let now = unix_now();
        let rows = on_pool!(self, pool => sqlx::query(SQL)
            .bind(intent_id)
            .bind(state.as_str())
            .bind(tx_hash)
            .bind(block_number)
            .bind(error)
            .bind(now)
            .execute(pool)
            .await?
            .rows_affected());
        Ok(rows == 1)
    }

    /// Marks queued intent `intent_id` failed with `error` without sending it (it would revert); false when it
    /// was not queued.
    pub async fn outbox_fail_queued(
        &self,
        intent_id: i64,
        error: &str,
    ) -> Result<bool, sqlx::Error> {
        const SQL: &str = "UPDATE outbox_intents SET state = 'failed', error = $2, updated_at = $3 \
                           WHERE id = $1 AND state = 'queued'";
        let now = unix_now();
        let rows = on_pool!(self, pool => sqlx::query(SQL)
            .bind(intent_id)
            .bind(error)
            .bind(now)
            .execute(pool)
            .await?
            .rows_affected());
        Ok(rows == 1)
    }

    /// Queues again the intent under `key` that failed without ever being signed (its gas estimation reverted,
    /// e.g. because it was enqueued a moment before its deadline passed on chain); true when it was such an
    /// intent. Intents that were signed are never queued again: one of their transactions may still be mined.
    pub async fn outbox_requeue_unsent(&self, key: &str) -> Result<bool, sqlx::Error> {
        const SQL: &str = "UPDATE outbox_intents SET state = 'queued', error = NULL, updated_at = $2 \
                           WHERE idempotency_key = $1 AND state = 'failed' AND nonce IS NULL";
        let now = unix_now();
        let rows = on_pool!(self, pool => sqlx::query(SQL)
            .bind(key)
            .bind(now)
            .execute(pool)
            .await?
            .rows_affected());
        Ok(rows == 1)
    }

    /// The next nonce the outbox would give `sender` on `chain_id`, if it has a counter.
    pub async fn outbox_next_nonce(
        &self,
        sender: &str,
        chain_id: u64,
    ) -> Result<Option<i64>, sqlx::Error> {
        const SQL: &str =
            "SELECT next_nonce FROM outbox_nonces WHERE sender_address = $1 AND chain_id = $2";
        let chain_id = i64::try_from(chain_id)
            .map_err(|_| sqlx::Error::Protocol(format!("chain id {chain_id} out of range")))?;
        on_pool!(self, pool => sqlx::query_scalar(SQL)
            .bind(sender)
            .bind(chain_id)
            .fetch_optional(pool)
            .await)
    }

    /// Brings `sender`'s nonce counter on `chain_id` in line with the chain's pending transaction count
    /// `chain_nonce`; returns the new counter.
    ///
    /// With nothing in flight every nonce the outbox gave out is settled on chain, so the chain's count is the
    /// truth (it is lower only when the chain was reset). With intents in flight the counter never goes below
    /// the nonce after the highest of them, so none of theirs is given out again.
    pub async fn outbox_reconcile_nonce(
        &self,
        sender: &str,
        chain_id: u64,
        chain_nonce: u64,
    ) -> Result<i64, sqlx::Error> {
        const IN_FLIGHT: &str =
            "SELECT MAX(nonce) FROM outbox_intents WHERE state = 'sent' AND sender_address = $1";
        const UPSERT: &str = "INSERT INTO outbox_nonces (sender_address, chain_id, next_nonce) \
                              VALUES ($1, $2, $3) ON CONFLICT (sender_address, chain_id) \
                              DO UPDATE SET next_nonce = $3";
        const CURRENT: &str =
            "SELECT next_nonce FROM outbox_nonces WHERE sender_address = $1 AND chain_id = $2";
        let chain_id = i64::try_from(chain_id)
            .map_err(|_| sqlx::Error::Protocol(format!("chain id {chain_id} out of range")))?;
        let chain_nonce = stored_nonce(chain_nonce)?;
        on_pool!(self, pool => {
            let mut db_tx = pool.begin_write().await?;
            let highest: Option<i64> = sqlx::query_scalar(IN_FLIGHT)
                .bind(sender)
                .fetch_one(&mut *db_tx)
                .await?;
            let next = match highest {
                None => chain_nonce,
                Some(highest) => {
                    let current: Option<i64> = sqlx::query_scalar(CURRENT)
                        .bind(sender)
                        .bind(chain_id)
                        .fetch_optional(&mut *db_tx)
                        .await?;
                    chain_nonce.max(highest + 1).max(current.unwrap_or(0))
                }
            };
            sqlx::query(UPSERT)
                .bind(sender)
                .bind(chain_id)
                .bind(next)
                .execute(&mut *db_tx)
                .await?;
            db_tx.commit().await?;
            Ok(next)
        })
    }
}
