//! EIP-1559 fees of the sender's transactions: the first one's, capped, and each replacement's.

/// The two EIP-1559 fees of a transaction, in wei per gas.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Fees {
    /// `maxFeePerGas`.
    pub max_fee_per_gas: u128,
    /// `maxPriorityFeePerGas`.
    pub max_priority_fee_per_gas: u128,
}

/// `value` raised by the replacement minimum, 12.5% rounded up. Nodes refuse a replacement whose fees are not
/// both this much above the pending transaction's (geth asks 10%, others up to 12.5%).
pub fn bumped(value: u128) -> u128 {
    value.saturating_add(value.div_ceil(8))
}

/// The fees of a first transaction: what the node suggests, with the max fee capped at `cap` and the priority
/// fee never above the max fee.
pub fn initial(suggested: Fees, cap: u128) -> Fees {
    let max_fee_per_gas = suggested.max_fee_per_gas.min(cap);
    Fees {
        max_fee_per_gas,
        max_priority_fee_per_gas: suggested.max_priority_fee_per_gas.min(max_fee_per_gas),
    }
}

/// The fees that replace a pending transaction paying `old`: each fee at least 12.5% higher ([`bumped`]) and at
/// least what the node now suggests, the max fee capped at `cap`. `None` when the cap leaves no room for a valid
/// replacement (the transaction stays as it is).
pub fn replacement(old: Fees, suggested: Fees, cap: u128) -> Option<Fees> {
    let min_max_fee = bumped(old.max_fee_per_gas);
    let min_priority = bumped(old.max_priority_fee_per_gas);
    let max_fee_per_gas = min_max_fee
        .max(suggested.max_fee_per_gas)
        .max(min_priority)
        .min(cap);
    let max_priority_fee_per_gas = min_priority
        .max(suggested.max_priority_fee_per_gas)
        .min(max_fee_per_gas);
    (max_fee_per_gas >= min_max_fee && max_priority_fee_per_gas >= min_priority).then_some(Fees {
        max_fee_per_gas,
        max_priority_fee_per_gas,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fees(max_fee_per_gas: u128, max_priority_fee_per_gas: u128) -> Fees {
        Fees {
            max_fee_per_gas,
            max_priority_fee_per_gas,
        }
    }

    #[test]
    fn bump_is_at_least_an_eighth_rounded_up() {
        assert_eq!(bumped(800), 900);
        assert_eq!(bumped(801), 902);
        assert_eq!(bumped(1), 2);
        assert_eq!(bumped(0), 0);
        assert_eq!(bumped(u128::MAX), u128::MAX);
        for v in [7u128, 1_000_000_007, 2_000_000_000] {
            assert!(bumped(v) * 1000 >= v * 1125, "{v}");
        }
    }

    #[test]
    fn initial_fees_are_capped() {
        assert_eq!(initial(fees(100, 10), 1000), fees(100, 10));
        assert_eq!(initial(fees(100, 10), 50), fees(50, 10));
        assert_eq!(initial(fees(100, 80), 50), fees(50, 50));
    }

    #[test]
    fn replacement_bumps_both_fees_or_follows_the_node() {
        // The node suggests less than the bump: the bump wins.
        assert_eq!(
            replacement(fees(800, 80), fees(100, 1), 10_000),
            Some(fees(900, 90))
        );
        // The node suggests more: follow it.
        assert_eq!(
            replacement(fees(800, 80), fees(5000, 200), 10_000),
            Some(fees(5000, 200))
        );
        // Capped, but still a valid replacement.
        assert_eq!(
            replacement(fees(800, 80), fees(5000, 200), 1000),
            Some(fees(1000, 200))
        );
        // The cap leaves no room for +12.5%.
        assert_eq!(replacement(fees(800, 80), fees(100, 1), 899), None);
        assert_eq!(replacement(fees(1000, 1000), fees(100, 1), 1000), None);
        // A priority fee equal to the max fee drags the max fee up with it.
        assert_eq!(
            replacement(fees(100, 100), fees(1, 1), 10_000),
            Some(fees(113, 113))
        );
    }
}
