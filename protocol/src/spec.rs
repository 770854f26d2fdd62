//! The job spec: what a requester asks for, what a worker trains, what the verifiers re-run (DESIGN.md §3.1).

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::amount::Amount;
use crate::content::ContentId;
use crate::error::{FieldError, SpecErrors, from_serde};

/// The spec format this crate reads and writes.
pub const SPEC_VERSION: u32 = 1;

/// The most sampled intervals a job may ask for (the contract's `MAX_SAMPLES`).
pub const MAX_SAMPLES: u32 = 16;

/// The largest amount the contract accepts for a reward, a verifier fee or a bond (`type(uint72).max`).
pub const MAX_AMOUNT: u128 = (1 << 72) - 1;

/// The largest seed a spec may carry: `2^53 - 1`. RFC 8785 writes every number as an IEEE double, so a larger
/// integer would not survive canonicalization (nor a JavaScript client) exactly.
pub const MAX_SEED: u64 = (1 << 53) - 1;

/// The largest LoRA rank.
pub const MAX_RANK: u32 = 1024;

/// The bounds of the LoRA scale `alpha`.
pub const ALPHA_RANGE: std::ops::RangeInclusive<f64> = 1e-6..=1e6;

/// The fixed base quantization names; `ternary-group-N` (N a positive group size) is the other accepted form.
pub const BASE_QUANTS: [&str; 4] = ["int8-row", "int8-q8_0", "ternary-tensor", "ternary-row"];

/// A fine-tuning job, as posted (JSON, `deny_unknown_fields`, every field required).
///
/// Its keccak256 over the RFC 8785 canonical JSON is the `specHash` the contract stores
/// ([`crate::spec_hash`]). The example in `protocol/examples/job-spec.json` shows every field.
///
/// Deserializing checks the types (content ids, amounts, enum names); [`JobSpec::validate`] checks the values
/// and the rules between fields. [`JobSpec::from_json`] does both and reports every problem with its field path.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct JobSpec {
    /// The spec format: [`SPEC_VERSION`].
    pub version: u32,
    /// The frozen base model.
    pub base_model: BaseModel,
    /// The training data.
    pub dataset: Dataset,
    /// The adapter to train.
    pub lora: LoraSettings,
    /// The optimisation run.
    pub training: TrainingSettings,
    /// The trace commitment and its audit.
    pub verification: VerificationSettings,
    /// What the job pays and what the worker risks.
    pub price: Price,
    /// When the job closes to claims and how long training may take.
    pub deadlines: Deadlines,
}

/// The frozen base model and how the worker quantizes it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BaseModel {
    /// The model file (GGUF with its tokenizer).
    pub id: ContentId,
    /// The base quantization, by name: `int8-row`, `int8-q8_0`, `ternary-tensor`, `ternary-row` or
    /// `ternary-group-N` with N a positive group size written without leading zeros. Kept a string here so this
    /// crate does not depend on the kernels; [`check_quant`] checks the format.
    pub quant: String,
}

/// The training data.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Dataset {
    /// The dataset blob.
    pub id: ContentId,
    /// How to read it.
    pub format: DatasetFormat,
}

/// How a dataset blob is read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DatasetFormat {
    /// Plain UTF-8 text.
    Text,
    /// Chat JSONL: one `{"messages": [{"role", "content"}, ...]}` per line.
    Chat,
}

/// A projection LoRA can adapt. In JSON the lowercase name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LoraTarget {
    /// Attention query.
    Q,
    /// Attention key.
    K,
    /// Attention value.
    V,
    /// Attention output.
    O,
    /// MLP gate.
    Gate,
    /// MLP up.
    Up,
    /// MLP down.
    Down,
}

impl LoraTarget {
    /// Every target, in the order a spec lists them.
    pub const ALL: [Self; 7] = [
        Self::Q,
        Self::K,
        Self::V,
        Self::O,
        Self::Gate,
        Self::Up,
        Self::Down,
    ];

    /// The name in JSON.
    pub fn name(self) -> &'static str {
        match self {
            Self::Q => "q",
            Self::K => "k",
            Self::V => "v",
            Self::O => "o",
            Self::Gate => "gate",
            Self::Up => "up",
            Self::Down => "down",
        }
    }
}

impl fmt::Display for LoraTarget {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The adapter.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LoraSettings {
    /// Rank r, `1..=1024`.
    pub rank: u32,
    /// Scale numerator: the update is `(alpha / r) · B·A`; `1e-6..=1e6`.
    pub alpha: f64,
    /// The adapted projections: non-empty, no duplicates, in the order of [`LoraTarget::ALL`]
    /// (`q, k, v, o, gate, up, down`), so that one choice has one spelling and one specHash.
    pub targets: Vec<LoraTarget>,
    /// Seed of the LoRA initialisation, `0..=2^53-1` (mixed with the job id, DESIGN.md §3.1).
    pub init_seed: u64,
}

/// The optimisation run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TrainingSettings {
    /// Optimizer steps T (updates), at least 1.
    pub steps: u32,
    /// Sequences per step, at least 1.
    pub batch_size: u32,
    /// Tokens per sequence, at least 2 (a next-token target needs two).
    pub seq_len: u32,
    /// The learning rate of each step.
    pub schedule: LrSchedule,
    /// The optimizer.
    pub optimizer: Optimizer,
    /// Seed of the order in which examples are drawn, `0..=2^53-1`.
    pub data_seed: u64,
    /// Seed of the stochastic rounding of the integer step, `0..=2^53-1`.
    pub rounding_seed: u64,
}

/// How the learning rate decays after warmup.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LrDecay {
    /// Cosine from `peak` at the end of warmup to `min` at step T.
    Cosine,
}

/// Linear warmup to `peak`, then decay to `min` at step T.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LrSchedule {
    /// The decay after warmup.
    pub decay: LrDecay,
    /// Peak learning rate, in `(0, 1]`.
    pub peak: f64,
    /// Final learning rate, in `[0, peak]`.
    pub min: f64,
    /// Warmup steps, at most T.
    pub warmup_steps: u32,
}

/// The optimizer's name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum OptimizerName {
    /// AdamW with decoupled weight decay.
    #[serde(rename = "adamw")]
    AdamW,
}

/// The optimizer and its hyperparameters.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Optimizer {
    /// Which optimizer (only `adamw` in version 1).
    pub name: OptimizerName,
    /// First-moment decay, in `[0, 1)`.
    pub beta1: f64,
    /// Second-moment decay, in `[0, 1)`.
    pub beta2: f64,
    /// Denominator floor, in `(0, 1]`.
    pub eps: f64,
    /// Decoupled weight decay λ, in `[0, 1]`.
    pub weight_decay: f64,
}

/// The trace commitment and its audit (DESIGN.md §3.2, §3.3), as the contract checks them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VerificationSettings {
    /// Checkpoint interval k: at least 1 and divides T; the trace has `n = T / k` intervals.
    pub checkpoint_interval: u32,
    /// Sampled intervals s: `1 <= s <= 16` and `2s - 1 <= n` (sampled intervals are pairwise non-adjacent).
    pub sample_count: u32,
    /// How many distinct verifiers the requester wants across the sampled intervals: `1..=s`, since the contract
    /// draws one verifier per sampled interval. The marketplace uses it when it draws; the contract does not read it.
    pub verifiers: u32,
}

/// What the job pays and what the worker risks, in USDT base units (6 decimals).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Price {
    /// Paid to the worker on success; `1..=2^72-1`.
    pub reward: Amount,
    /// Paid per attested sampled interval; `0..=2^72-1`.
    pub verifier_fee: Amount,
    /// Locked from the worker's stake when it claims; `1..=2^72-1`.
    pub worker_bond: Amount,
}

/// When the job closes to claims and how long training may take.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Deadlines {
    /// Last moment (unix seconds) a worker may claim; at most `2^32 - 1` and in the future when posted.
    pub open_until: u64,
    /// Seconds a worker has from claim to submit, at least 1; `open_until + train_duration <= 2^32 - 1`.
    pub train_duration: u64,
}

/// Checks a base quantization name (see [`BaseModel::quant`]); the error says what is accepted.
pub fn check_quant(name: &str) -> Result<(), String> {
    if BASE_QUANTS.contains(&name) {
        return Ok(());
    }
    if let Some(n) = name.strip_prefix("ternary-group-") {
        let digits = !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit());
        return match n.parse::<u32>() {
            Ok(g) if digits && g > 0 && !n.starts_with('0') => Ok(()),
            _ => Err(format!(
                "`{name}`: the group size after `ternary-group-` must be a positive whole number without leading \
                 zeros, e.g. `ternary-group-64`"
            )),
        };
    }
    Err(format!(
        "unknown base quantization `{name}`: use one of {}, or ternary-group-N (N a positive group size)",
        BASE_QUANTS.join(", ")
    ))
}

impl JobSpec {
    /// Parses a spec from JSON and validates it: the spec, or every problem found, each with its field path.
    ///
    /// A type error (unknown, missing or duplicate field, wrong type, bad content id or amount, trailing data)
    /// stops the parse, so it is reported alone; otherwise every invalid value is reported
    /// ([`JobSpec::validate`]). A spec of another `version` is reported as such rather than by its fields.
    pub fn from_json(bytes: &[u8]) -> Result<Self, SpecErrors> {
        // serde's derived structs also accept an array of their fields in order; a spec names its fields.
        if let Ok(value) = serde_json::from_slice::<serde_json::Value>(bytes)
            && let Some(field) = positional_struct(&value, "")
        {
            return Err(SpecErrors::single(FieldError::new(
                field,
                "write this as a JSON object with named fields, not an array",
            )));
        }
        let mut de = serde_json::Deserializer::from_slice(bytes);
        let parsed: Result<Self, _> = serde_path_to_error::deserialize(&mut de);
        let spec = match parsed.map(|spec| de.end().map(|()| spec)) {
            Ok(Ok(spec)) => spec,
            Ok(Err(trailing)) => {
                return Err(SpecErrors::single(FieldError::new(
                    "",
                    format!("not valid JSON: {trailing}"),
                )));
            }
            Err(err) => {
                if let Some(e) = version_error(bytes) {
                    return Err(SpecErrors::single(e));
                }
                return Err(SpecErrors::single(from_serde(err)));
            }
        };
        spec.validate()?;
        Ok(spec)
    }

    /// Checks every value and every rule between fields, collecting all the invalid ones. The rules the contract
    /// enforces at `createJob` are all here except the one that needs the clock (see [`JobSpec::validate_at`]).
    pub fn validate(&self) -> Result<(), SpecErrors> {
        let mut errors = Vec::new();
        let mut err = |field: &str, message: String| errors.push(FieldError::new(field, message));

        if self.version != SPEC_VERSION {
            err(
                "version",
                format!(
                    "unsupported spec version {}: write version {SPEC_VERSION}",
                    self.version
                ),
            );
        }
        if let Err(message) = check_quant(&self.base_model.quant) {
            err("base_model.quant", message);
        }

        // LoRA.
        let lora = &self.lora;
        if !(1..=MAX_RANK).contains(&lora.rank) {
            err(
                "lora.rank",
                format!(
                    "rank {} is out of range: use 1 to {MAX_RANK} (8 or 16 is typical)",
                    lora.rank
                ),
            );
        }
        if !ALPHA_RANGE.contains(&lora.alpha) {
            err(
                "lora.alpha",
                format!(
                    "alpha {} is out of range: use a value from 1e-6 to 1e6 (often twice the rank)",
                    lora.alpha
                ),
            );
        }
        check_targets(&lora.targets, &mut err);
        check_seed("lora.init_seed", lora.init_seed, &mut err);

        // Training.
        let t = &self.training;
        if t.steps == 0 {
            err("training.steps", "steps must be at least 1".into());
        }
        if t.batch_size == 0 {
            err(
                "training.batch_size",
                "batch size must be at least 1".into(),
            );
        }
        if t.seq_len < 2 {
            err(
                "training.seq_len",
                format!(
                    "sequence length {} is too short: use at least 2 tokens (a next-token target needs two)",
                    t.seq_len
                ),
            );
        }
        let s = &t.schedule;
        let peak_ok = s.peak > 0.0 && s.peak <= 1.0;
        if !peak_ok {
            err(
                "training.schedule.peak",
                format!(
                    "peak learning rate {} is out of range: use a value above 0 and at most 1 (1e-4 to 1e-3 is typical)",
                    s.peak
                ),
            );
        }
        if !(s.min >= 0.0 && s.min <= 1.0) || (peak_ok && s.min > s.peak) {
            err(
                "training.schedule.min",
                format!(
                    "final learning rate {} is out of range: use a value from 0 to the peak ({})",
                    s.min, s.peak
                ),
            );
        }
        if s.warmup_steps > t.steps {
            err(
                "training.schedule.warmup_steps",
                format!(
                    "{} warmup steps exceed the {} training steps: use at most training.steps",
                    s.warmup_steps, t.steps
                ),
            );
        }
        let o = &t.optimizer;
        for (field, value) in [
            ("training.optimizer.beta1", o.beta1),
            ("training.optimizer.beta2", o.beta2),
        ] {
            if !(0.0..1.0).contains(&value) {
                err(
                    field,
                    format!(
                        "{value} is out of range: use a value from 0 up to but not including 1 (0.9 / 0.999 are typical)"
                    ),
                );
            }
        }
        if !(o.eps > 0.0 && o.eps <= 1.0) {
            err(
                "training.optimizer.eps",
                format!(
                    "eps {} is out of range: use a value above 0 and at most 1 (1e-8 is typical)",
                    o.eps
                ),
            );
        }
        if !(0.0..=1.0).contains(&o.weight_decay) {
            err(
                "training.optimizer.weight_decay",
                format!(
                    "weight decay {} is out of range: use a value from 0 to 1",
                    o.weight_decay
                ),
            );
        }
        check_seed("training.data_seed", t.data_seed, &mut err);
        check_seed("training.rounding_seed", t.rounding_seed, &mut err);

        // Verification: the contract's BadStepCount and BadSampleCount rules.
        let v = &self.verification;
        let k = v.checkpoint_interval;
        let intervals = if k == 0 {
            err(
                "verification.checkpoint_interval",
                "checkpoint interval must be at least 1".into(),
            );
            None
        } else if !t.steps.is_multiple_of(k) {
            err(
                "verification.checkpoint_interval",
                format!(
                    "checkpoint interval {k} does not divide the {} training steps: pick a divisor of training.steps",
                    t.steps
                ),
            );
            None
        } else {
            Some(t.steps / k)
        };
        let sample_ok = if !(1..=MAX_SAMPLES).contains(&v.sample_count) {
            err(
                "verification.sample_count",
                format!(
                    "{} sampled intervals is out of range: use 1 to {MAX_SAMPLES}",
                    v.sample_count
                ),
            );
            false
        } else if let Some(n) = intervals
            && n > 0
            && 2 * v.sample_count - 1 > n
        {
            err(
                "verification.sample_count",
                format!(
                    "{} sampled intervals need at least {} intervals (sampled intervals are not adjacent), \
                     but {} steps / {k} per checkpoint give {n}: sample at most {} or checkpoint more often",
                    v.sample_count,
                    2 * v.sample_count - 1,
                    t.steps,
                    n.div_ceil(2),
                ),
            );
            false
        } else {
            true
        };
        if v.verifiers == 0 || (sample_ok && v.verifiers > v.sample_count) {
            err(
                "verification.verifiers",
                format!(
                    "{} verifiers is out of range: use 1 to the number of sampled intervals ({}), one verifier \
                     is drawn per sampled interval",
                    v.verifiers, v.sample_count
                ),
            );
        }

        // Price: the contract's AmountTooLarge, ZeroReward and ZeroWorkerBond rules.
        let p = &self.price;
        for (field, amount, zero_ok) in [
            ("price.reward", p.reward, false),
            ("price.verifier_fee", p.verifier_fee, true),
            ("price.worker_bond", p.worker_bond, false),
        ] {
            if amount.base_units() > MAX_AMOUNT {
                err(
                    field,
                    format!(
                        "{amount} base units is more than the contract accepts ({MAX_AMOUNT}, 2^72 - 1)"
                    ),
                );
            } else if !zero_ok && amount == Amount::ZERO {
                err(
                    field,
                    "must be more than 0 (USDT base units, 6 decimals: \"1000000\" is 1 USDT)"
                        .into(),
                );
            }
        }

        // Deadlines: the contract's BadOpenUntil, ZeroTrainDuration and TrainingEndsTooLate rules.
        let d = &self.deadlines;
        let max_time = u64::from(u32::MAX);
        if d.open_until == 0 || d.open_until > max_time {
            err(
                "deadlines.open_until",
                format!(
                    "{} is not a usable unix time: give a time in seconds after now and at most {max_time}",
                    d.open_until
                ),
            );
        }
        if d.train_duration == 0 {
            err(
                "deadlines.train_duration",
                "training duration must be at least 1 second".into(),
            );
        } else if d.open_until <= max_time
            && d.open_until.saturating_add(d.train_duration) > max_time
        {
            err(
                "deadlines.train_duration",
                format!(
                    "open_until + train_duration = {} passes {max_time}, the last time the contract can hold: \
                     shorten the duration or close the job earlier",
                    d.open_until.saturating_add(d.train_duration)
                ),
            );
        }

        if errors.is_empty() {
            Ok(())
        } else {
            Err(SpecErrors { errors })
        }
    }

    /// [`JobSpec::validate`] plus the rule that needs the clock: `open_until` must be after `now` (unix seconds),
    /// as `createJob` requires of `block.timestamp`.
    pub fn validate_at(&self, now: u64) -> Result<(), SpecErrors> {
        let mut errors = self.validate().err().map(|e| e.errors).unwrap_or_default();
        let open_until = self.deadlines.open_until;
        if open_until != 0
            && open_until <= now
            && errors.iter().all(|e| e.field != "deadlines.open_until")
        {
            errors.push(FieldError::new(
                "deadlines.open_until",
                format!("the job would be closed already: open_until ({open_until}) is not after now ({now}); pick a later time"),
            ));
        }
        if errors.is_empty() {
            Ok(())
        } else {
            Err(SpecErrors { errors })
        }
    }

    /// What `createJob` pulls from the requester: `reward + verifier_fee * sample_count` base units.
    pub fn escrow(&self) -> Amount {
        let fees = self
            .price
            .verifier_fee
            .base_units()
            .saturating_mul(u128::from(self.verification.sample_count));
        Amount::new(self.price.reward.base_units().saturating_add(fees))
    }

    /// The number of checkpoint intervals `n = T / k` (0 when k is 0).
    pub fn num_intervals(&self) -> u32 {
        self.training
            .steps
            .checked_div(self.verification.checkpoint_interval)
            .unwrap_or(0)
    }
}

/// LoRA targets: non-empty, no duplicates, in [`LoraTarget::ALL`] order.
fn check_targets(targets: &[LoraTarget], err: &mut impl FnMut(&str, String)) {
    if targets.is_empty() {
        err(
            "lora.targets",
            "no targets: list at least one of q, k, v, o, gate, up, down".into(),
        );
        return;
    }
    let mut duplicate = false;
    for (i, t) in targets.iter().enumerate() {
        if targets[..i].contains(t) {
            err(
                &format!("lora.targets[{i}]"),
                format!("`{t}` is listed twice: list each target once"),
            );
            duplicate = true;
        }
    }
    if !duplicate && targets.windows(2).any(|w| w[0] > w[1]) {
        let mut sorted = targets.to_vec();
        sorted.sort();
        let names: Vec<&str> = sorted.iter().map(|t| t.name()).collect();
        err(
            "lora.targets",
            format!(
                "list the targets in the order q, k, v, o, gate, up, down (one spelling per choice, so one \
                 specHash): [{}]",
                names.join(", ")
            ),
        );
    }
}

/// A seed must survive canonical JSON, whose numbers are IEEE doubles.
fn check_seed(field: &str, seed: u64, err: &mut impl FnMut(&str, String)) {
    if seed > MAX_SEED {
        err(
            field,
            format!(
                "seed {seed} is too large: use 0 to {MAX_SEED} (2^53 - 1, exact in canonical JSON)"
            ),
        );
    }
}

/// The path of an array where the spec has an object (a struct), if there is one. `lora.targets` is the spec's only
/// list.
fn positional_struct(value: &serde_json::Value, path: &str) -> Option<String> {
    match value {
        serde_json::Value::Array(_) if path != "lora.targets" => Some(path.to_string()),
        serde_json::Value::Object(map) => map.iter().find_map(|(key, v)| {
            let child = if path.is_empty() {
                key.clone()
            } else {
                format!("{path}.{key}")
            };
            positional_struct(v, &child)
        }),
        _ => None,
    }
}

/// The error for a document whose `version` is not [`SPEC_VERSION`], if it has one.
fn version_error(bytes: &[u8]) -> Option<FieldError> {
    #[derive(Deserialize)]
    struct Versioned {
        version: serde_json::Value,
    }
    let v: Versioned = serde_json::from_slice(bytes).ok()?;
    (v.version != SPEC_VERSION).then(|| {
        FieldError::new(
            "version",
            format!(
                "unsupported spec version {}: this software reads version {SPEC_VERSION}",
                v.version
            ),
        )
    })
}
