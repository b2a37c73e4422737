//! crossbar's outbound dial plan, pure: no IO, no clock.

mod error;
pub mod live;
pub mod numbering;
pub mod policy;
pub mod rates;

pub use error::PlanError;
pub use live::{ExtensionUsage, Idle, Live, TrunkLoad};
pub use numbering::NumberProblem;
pub use policy::{DenyReason, FraudCap};
