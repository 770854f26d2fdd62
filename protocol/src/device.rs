//! What a worker tells the marketplace about its device and its training progress: the bodies of device
//! registration and progress reports, shared by the worker that sends them and the service that checks them.

use serde::{Deserialize, Serialize};

use crate::FieldError;

/// Longest device name or adapter description accepted.
pub const MAX_NAME_LEN: usize = 100;

/// Where a worker trains.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ComputeBackend {
    /// The CPU kernels.
    Cpu,
    /// wgpu on Vulkan.
    Vulkan,
    /// wgpu on Metal.
    Metal,
    /// wgpu on DirectX 12.
    Dx12,
    /// wgpu on OpenGL ES / WebGL.
    Gl,
}

/// What a worker's probe found: where it trains and how much it may use.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DeviceProbe {
    /// The backend the worker trains on.
    pub backend: ComputeBackend,
    /// The adapter's name as the driver reports it (`llvmpipe`, `NVIDIA H100 80GB HBM3`), or the CPU's model.
    pub adapter: String,
    /// Memory the worker may use for training, in bytes.
    pub memory_bytes: u64,
    /// Threads the worker may use.
    pub threads: u32,
    /// Training throughput `worker bench` measured, in tokens per second, if it ran.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tokens_per_second: Option<f64>,
}

impl DeviceProbe {
    /// Every field that is out of range, with its path under `prefix` (`probe.memory_bytes`).
    pub fn check(&self, prefix: &str) -> Vec<FieldError> {
        let mut errors = Vec::new();
        if self.adapter.trim().is_empty() || self.adapter.chars().count() > MAX_NAME_LEN {
            errors.push(FieldError::new(
                format!("{prefix}adapter"),
                format!("must be 1 to {MAX_NAME_LEN} characters"),
            ));
        }
        if self.memory_bytes == 0 {
            errors.push(FieldError::new(
                format!("{prefix}memory_bytes"),
                "must be positive",
            ));
        }
        if !(1..=65_536).contains(&self.threads) {
            errors.push(FieldError::new(
                format!("{prefix}threads"),
                "must be 1..=65536",
            ));
        }
        if self
            .tokens_per_second
            .is_some_and(|t| !t.is_finite() || t < 0.0)
        {
            errors.push(FieldError::new(
                format!("{prefix}tokens_per_second"),
                "must be a finite number >= 0",
            ));
        }
        errors
    }
}

/// A device name: what its owner calls it; unique per owner.
pub fn check_device_name(name: &str) -> Option<FieldError> {
    let ok = !name.trim().is_empty()
        && name.chars().count() <= MAX_NAME_LEN
        && !name.chars().any(char::is_control);
    (!ok).then(|| {
        FieldError::new(
            "name",
            format!("must be 1 to {MAX_NAME_LEN} printable characters"),
        )
    })
}

/// Where a training run is: one point of the job page's loss curve. Not committed anywhere; for display only.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProgressReport {
    /// Steps done, `1..=T`.
    pub step: u32,
    /// Training loss at that step (mean cross-entropy, nats).
    pub loss: f64,
    /// Recent throughput, tokens per second.
    pub tokens_per_second: f64,
    /// Seconds the worker expects the rest to take.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub eta_seconds: Option<u64>,
}

impl ProgressReport {
    /// Every field that is out of range for a job of `total_steps` steps.
    pub fn check(&self, total_steps: u32) -> Vec<FieldError> {
        let mut errors = Vec::new();
        if !(1..=total_steps).contains(&self.step) {
            errors.push(FieldError::new(
                "step",
                format!("must be 1..={total_steps}, the job's steps"),
            ));
        }
        if !self.loss.is_finite() || self.loss < 0.0 {
            errors.push(FieldError::new("loss", "must be a finite number >= 0"));
        }
        if !self.tokens_per_second.is_finite() || self.tokens_per_second < 0.0 {
            errors.push(FieldError::new(
                "tokens_per_second",
                "must be a finite number >= 0",
            ));
        }
        if self.eta_seconds.is_some_and(|e| e > 10 * 365 * 86_400) {
            errors.push(FieldError::new("eta_seconds", "must be at most ten years"));
        }
        errors
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn probe() -> DeviceProbe {
        DeviceProbe {
            backend: ComputeBackend::Vulkan,
            adapter: "llvmpipe".into(),
            memory_bytes: 1 << 30,
            threads: 2,
            tokens_per_second: Some(150.0),
        }
    }

    #[test]
    fn a_sane_probe_passes_and_each_bad_field_is_named() {
        assert!(probe().check("probe.").is_empty());
        let bad = DeviceProbe {
            adapter: String::new(),
            memory_bytes: 0,
            threads: 0,
            tokens_per_second: Some(f64::NAN),
            ..probe()
        };
        let fields: Vec<String> = bad.check("probe.").into_iter().map(|e| e.field).collect();
        assert_eq!(
            fields,
            [
                "probe.adapter",
                "probe.memory_bytes",
                "probe.threads",
                "probe.tokens_per_second"
            ]
        );
        let json = serde_json::to_value(probe()).unwrap();
        assert_eq!(json["backend"], "vulkan");
        assert!(serde_json::from_str::<DeviceProbe>(r#"{"backend":"tpu"}"#).is_err());
    }

    #[test]
    fn names_must_be_printable_and_short() {
        assert!(check_device_name("desk pc").is_none());
        assert!(check_device_name(" ").is_some());
        assert!(check_device_name("a\nb").is_some());
        assert!(check_device_name(&"x".repeat(101)).is_some());
    }

    #[test]
    fn progress_is_checked_against_the_job() {
        let report = ProgressReport {
            step: 10,
            loss: 2.5,
            tokens_per_second: 100.0,
            eta_seconds: Some(60),
        };
        assert!(report.check(10).is_empty());
        let fields: Vec<String> = report.check(9).into_iter().map(|e| e.field).collect();
        assert_eq!(fields, ["step"]);
        let bad = ProgressReport {
            step: 0,
            loss: f64::INFINITY,
            tokens_per_second: -1.0,
            eta_seconds: Some(u64::MAX),
        };
        assert_eq!(bad.check(10).len(), 4);
    }
}
