//! The learning-rate schedule: linear warmup, then cosine decay to a floor.
//!
//! The integer trainer uses this same schedule (it converts the returned rate to its fixed-point format once per
//! step), so both trainers see the same learning rate at every step of a quality comparison.

/// Linear warmup for `warmup_steps` steps, then cosine decay from `peak` to `min` over the remaining
/// `total_steps - warmup_steps` steps; constant `min` afterwards.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LrSchedule {
    /// Rate at the end of warmup.
    pub peak: f32,
    /// Rate the cosine decays to.
    pub min: f32,
    /// Steps of linear warmup.
    pub warmup_steps: u32,
    /// Total steps of the run, warmup included.
    pub total_steps: u32,
}

impl LrSchedule {
    /// The rate for step `step` (counted from 0).
    ///
    /// Warmup: `peak · (step + 1) / warmup_steps`, so step 0 already trains and step `warmup_steps - 1` reaches
    /// `peak`. Decay: with `p = (step - warmup_steps) / max(1, total_steps - warmup_steps)` clamped to `[0, 1]`,
    /// `min + (peak - min) · (1 + cos(π·p)) / 2`. Computed in f64, returned as f32.
    pub fn at(&self, step: u32) -> f32 {
        let peak = f64::from(self.peak);
        let min = f64::from(self.min);
        if step < self.warmup_steps {
            return (peak * f64::from(step + 1) / f64::from(self.warmup_steps)) as f32;
        }
        let decay_steps = self.total_steps.saturating_sub(self.warmup_steps).max(1);
        let progress = (f64::from(step - self.warmup_steps) / f64::from(decay_steps)).min(1.0);
        (min + (peak - min) * 0.5 * (1.0 + (std::f64::consts::PI * progress).cos())) as f32
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn warms_up_linearly_then_decays_to_the_floor() {
        let s = LrSchedule {
            peak: 1e-3,
            min: 1e-4,
            warmup_steps: 10,
            total_steps: 110,
        };
        assert!((s.at(0) - 1e-4).abs() < 1e-9);
        assert!((s.at(4) - 5e-4).abs() < 1e-9);
        assert!((s.at(9) - 1e-3).abs() < 1e-9);
        assert!((s.at(10) - 1e-3).abs() < 1e-9);
        assert!(
            (s.at(60) - 5.5e-4).abs() < 1e-9,
            "half way down the cosine is the mean of peak and floor"
        );
        assert!((s.at(110) - 1e-4).abs() < 1e-9);
        assert!((s.at(1000) - 1e-4).abs() < 1e-9);
        let mut last = s.at(10);
        for step in 11..=110 {
            assert!(s.at(step) <= last);
            last = s.at(step);
        }
    }
}
