//! Jobs: the marketplace's view of the market's jobs, built by the chain indexer from the contract's events.

pub(crate) mod create;
pub(crate) mod get;
pub(crate) mod list;
pub(crate) mod page_cache;
pub(crate) mod progress_list;
pub(crate) mod progress_report;

/// `raw` as a job id (`0x` and 64 hex digits, either case), lowercased; `None` if it is not one.
pub(crate) fn parse_job_id(raw: &str) -> Option<String> {
    let hex = raw.strip_prefix("0x")?;
    (hex.len() == 64 && hex.bytes().all(|b| b.is_ascii_hexdigit()))
        .then(|| format!("0x{}", hex.to_ascii_lowercase()))
}

/// `raw` as an address (`0x` and 40 hex digits, either case: checksummed addresses are accepted), lowercased;
/// `None` if it is not one.
pub(crate) fn parse_address(raw: &str) -> Option<String> {
    let hex = raw.strip_prefix("0x")?;
    (hex.len() == 40 && hex.bytes().all(|b| b.is_ascii_hexdigit()))
        .then(|| format!("0x{}", hex.to_ascii_lowercase()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_and_addresses() {
        let id = format!("0x{}", "Ab".repeat(32));
        assert_eq!(parse_job_id(&id).unwrap(), format!("0x{}", "ab".repeat(32)));
        assert!(parse_job_id(&"ab".repeat(32)).is_none());
        assert!(parse_job_id("0x12").is_none());
        assert!(parse_job_id(&format!("0x{}", "g".repeat(64))).is_none());
        let address = "0x5FbDB2315678afecb367f032d93F642f64180aa3";
        assert_eq!(parse_address(address).unwrap(), address.to_lowercase());
        assert!(parse_address("0x5FbDB2315678afecb367f032d93F642f64180aa").is_none());
        assert!(parse_address(&id).is_none());
    }
}
