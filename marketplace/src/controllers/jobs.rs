//! Jobs: `/v1/jobs`.

pub(crate) mod create;
pub(crate) mod progress_list;
pub(crate) mod progress_report;
