//! crossbar's outbound dial plan, pure: no IO, no clock.

mod error;
pub mod numbering;
pub mod rates;

pub use error::PlanError;
pub use numbering::NumberProblem;
