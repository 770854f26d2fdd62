//! Tern's protocol types, shared by the marketplace, the worker and the verifier (DESIGN.md §2, §3.1).
//!
//! - [`ContentId`]: `sha256:<hex>` of a blob's bytes, with [`ContentHasher`] to hash a blob as it streams.
//! - [`JobSpec`]: what a requester posts (base model, dataset, LoRA, training, verification, price, deadlines),
//!   read with [`JobSpec::from_json`], which reports every invalid field with its path ([`SpecErrors`]).
//! - [`canonical_json`] and [`spec_hash`]: the RFC 8785 canonical form of a spec and its keccak256, the
//!   `specHash` the contract stores.
//! - [`Amount`]: USDT base units, carried in JSON as decimal strings.
//!
//! The crate pulls in neither the compute nor the chain or web stacks: serde, sha2/sha3 and a JCS canonicalizer.
//!
//! ```
//! use tern_protocol::{JobSpec, spec_hash};
//!
//! let json = std::fs::read("examples/job-spec.json").unwrap();
//! let spec = JobSpec::from_json(&json).unwrap();
//! assert_eq!(spec.training.steps, 100);
//! let hash = spec_hash(&spec);
//! assert_eq!(hash.len(), 32);
//!
//! let mut bad = spec.clone();
//! bad.lora.rank = 0;
//! bad.training.steps = 99;
//! let errors = bad.validate().unwrap_err();
//! assert_eq!(
//!     errors.fields(),
//!     ["lora.rank", "verification.checkpoint_interval"]
//! );
//! ```

mod amount;
mod content;
mod device;
mod error;
mod hash;
mod spec;

pub use amount::{Amount, AmountError, USDT_DECIMALS};
pub use content::{CONTENT_ID_PREFIX, ContentHasher, ContentId, ContentIdError, ContentMismatch};
pub use device::{ComputeBackend, DeviceProbe, MAX_NAME_LEN, ProgressReport, check_device_name};
pub use error::{FieldError, SpecErrors};
pub use hash::{canonical_json, keccak256, spec_hash};
pub use spec::{
    ALPHA_RANGE, BASE_QUANTS, BaseModel, Dataset, DatasetFormat, Deadlines, JobSpec, LoraSettings,
    LoraTarget, LrDecay, LrSchedule, MAX_AMOUNT, MAX_RANK, MAX_SAMPLES, MAX_SEED, Optimizer,
    OptimizerName, Price, SPEC_VERSION, TrainingSettings, VerificationSettings, check_quant,
};
