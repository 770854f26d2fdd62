//! The integer training step's parts beyond the layers: the optimizer and the learning-rate schedule (in progress:
//! the state encoding and the step itself follow).

pub mod adamw;
pub mod bounds;
pub mod schedule;
pub mod state;
pub mod step;

pub use adamw::{AdamW, MASTER_FRAC, Moments};
pub use bounds::{MemoryEstimate, SpecError, StepShape};
pub use schedule::LrSchedule;
pub use state::{AdapterState, StateError, TrainState};
pub use step::{StepError, StepReport, TrainConfig, Trainer};
