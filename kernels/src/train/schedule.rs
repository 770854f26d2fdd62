//! The learning-rate schedule: linear warmup, then cosine decay to a floor.
//!
//! `lr(step)` for `step = 0, 1, …` (the update that produces `S_{step+1}`):
//! - warmup (`step < warmup`): `peak · (step + 1) / warmup`;
//! - decay: with `p = (step − warmup) / max(1, total − warmup)` clamped to `[0, 1]`,
//!   `min + (peak − min) · (1 + cos(π p)) / 2`.
//!
//! The integer trainer turns `lr(step)` into a [`Multiplier`] through `libm` (the same bits everywhere); the f32
//! reference uses the same function.

use crate::fixed::scale::{Multiplier, ScaleError};
use serde::{Deserialize, Serialize};

/// Warmup + cosine decay.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct LrSchedule {
    /// Peak learning rate (after warmup).
    pub peak: f64,
    /// Final learning rate at `total_steps`.
    pub min: f64,
    /// Warmup steps.
    pub warmup_steps: u32,
    /// Total training steps `T`.
    pub total_steps: u32,
}

impl LrSchedule {
    /// The learning rate of the update at `step`.
    pub fn lr(&self, step: u32) -> f64 {
        if step < self.warmup_steps {
            return self.peak * f64::from(step + 1) / f64::from(self.warmup_steps);
        }
        let span = f64::from(self.total_steps.saturating_sub(self.warmup_steps).max(1));
        let p = (f64::from(step - self.warmup_steps) / span).clamp(0.0, 1.0);
        self.min + (self.peak - self.min) * (1.0 + libm::cos(std::f64::consts::PI * p)) / 2.0
    }

    /// [`LrSchedule::lr`] as a fixed-point multiplier.
    pub fn multiplier(&self, step: u32) -> Result<Multiplier, ScaleError> {
        Multiplier::from_f64(self.lr(step))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn warms_up_then_decays_to_the_floor() {
        let s = LrSchedule {
            peak: 1e-3,
            min: 1e-5,
            warmup_steps: 10,
            total_steps: 110,
        };
        assert!((s.lr(0) - 1e-4).abs() < 1e-15);
        assert!((s.lr(9) - 1e-3).abs() < 1e-15);
        assert!((s.lr(10) - 1e-3).abs() < 1e-15);
        assert!((s.lr(60) - (1e-5 + (1e-3 - 1e-5) / 2.0)).abs() < 1e-12);
        assert!((s.lr(110) - 1e-5).abs() < 1e-15);
        assert!((s.lr(500) - 1e-5).abs() < 1e-15);
        for step in 10..110 {
            assert!(s.lr(step + 1) <= s.lr(step));
        }
        let m = s.multiplier(60).unwrap();
        assert!((m.to_f64() - s.lr(60)).abs() < s.lr(60) * 1e-9);
    }

    #[test]
    fn no_warmup_and_zero_floor() {
        let s = LrSchedule {
            peak: 2e-4,
            min: 0.0,
            warmup_steps: 0,
            total_steps: 4,
        };
        assert_eq!(s.lr(0), 2e-4);
        assert!(s.lr(4) < 1e-20);
        assert!(
            s.multiplier(4).is_err(),
            "a zero rate is not a multiplier: the trainer skips the update"
        );
    }
}
