//! Token amounts: integers of USDT base units, carried in JSON as decimal strings.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// Decimals of USDT: one USDT is `10^6` base units.
pub const USDT_DECIMALS: u32 = 6;

/// An amount of USDT base units (`1_000_000` = 1 USDT).
///
/// In JSON it is a decimal integer **string** (`"5000000"`), never a number, so no float ever touches money and
/// amounts beyond 2^53 survive JavaScript clients. The string is digits only: no sign, no decimal point, no
/// exponent, no spaces, and no leading zero (except `"0"` itself), so each amount has one spelling.
///
/// ```
/// use tern_protocol::Amount;
///
/// let a: Amount = "5000000".parse().unwrap();
/// assert_eq!(a.base_units(), 5_000_000);
/// assert_eq!(a.to_string(), "5000000");
/// assert_eq!(serde_json::to_string(&a).unwrap(), "\"5000000\"");
/// assert!("5.0".parse::<Amount>().is_err());
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Amount(u128);

impl Amount {
    /// Zero.
    pub const ZERO: Self = Self(0);

    /// An amount of `base_units`.
    pub const fn new(base_units: u128) -> Self {
        Self(base_units)
    }

    /// The amount in base units.
    pub const fn base_units(self) -> u128 {
        self.0
    }

    /// The amount in whole USDT, for people (`5000000` → `"5"`, `1500000` → `"1.5"`).
    pub fn to_usdt_string(self) -> String {
        let unit = 10u128.pow(USDT_DECIMALS);
        let (whole, frac) = (self.0 / unit, self.0 % unit);
        if frac == 0 {
            whole.to_string()
        } else {
            let frac = format!("{frac:06}");
            format!("{whole}.{}", frac.trim_end_matches('0'))
        }
    }
}

/// Why a string is not an [`Amount`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "`{0}` is not an amount: write a whole number of USDT base units as a decimal string without sign, point, \
     exponent or leading zeros (USDT has 6 decimals: \"5000000\" is 5 USDT)"
)]
pub struct AmountError(String);

impl FromStr for Amount {
    type Err = AmountError;

    fn from_str(s: &str) -> Result<Self, AmountError> {
        let bad = || AmountError(s.to_string());
        if s.is_empty()
            || !s.bytes().all(|b| b.is_ascii_digit())
            || (s.len() > 1 && s.starts_with('0'))
        {
            return Err(bad());
        }
        s.parse::<u128>().map(Self).map_err(|_| bad())
    }
}

impl fmt::Display for Amount {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.0, f)
    }
}

impl Serialize for Amount {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Amount {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Visitor;
        impl serde::de::Visitor<'_> for Visitor {
            type Value = Amount;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(
                    "an amount as a decimal string of USDT base units (6 decimals), e.g. \"5000000\" for 5 USDT",
                )
            }

            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Amount, E> {
                v.parse().map_err(E::custom)
            }
        }
        deserializer.deserialize_str(Visitor)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_decimal_strings() {
        assert_eq!("0".parse::<Amount>().unwrap(), Amount::ZERO);
        assert_eq!("1".parse::<Amount>().unwrap(), Amount::new(1));
        assert_eq!(
            u128::MAX.to_string().parse::<Amount>().unwrap(),
            Amount::new(u128::MAX)
        );
    }

    #[test]
    fn rejects_other_spellings() {
        for bad in [
            "",
            "-1",
            "+1",
            "1.0",
            "1e6",
            " 1",
            "1 ",
            "01",
            "00",
            "0x10",
            "1_000",
            // u128::MAX + 1
            "340282366920938463463374607431768211456",
        ] {
            let err = bad.parse::<Amount>().unwrap_err();
            assert!(err.to_string().contains("base units"), "{bad}: {err}");
        }
    }

    #[test]
    fn json_is_a_string_never_a_number() {
        let a = Amount::new(12_345_678);
        assert_eq!(serde_json::to_string(&a).unwrap(), "\"12345678\"");
        assert_eq!(serde_json::from_str::<Amount>("\"12345678\"").unwrap(), a);
        let err = serde_json::from_str::<Amount>("12345678").unwrap_err();
        assert!(err.to_string().contains("decimal string"), "{err}");
        assert!(serde_json::from_str::<Amount>("1.5").is_err());
    }

    #[test]
    fn usdt_display() {
        assert_eq!(Amount::new(5_000_000).to_usdt_string(), "5");
        assert_eq!(Amount::new(1_500_000).to_usdt_string(), "1.5");
        assert_eq!(Amount::new(1).to_usdt_string(), "0.000001");
        assert_eq!(Amount::ZERO.to_usdt_string(), "0");
    }
}
