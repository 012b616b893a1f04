//! The teamsAsyncOperation resource: its enums, its fields, and how a body is parsed.

mod enums;
mod operation;
mod text;

pub use enums::{OperationType, Status};
pub(crate) use operation::Field;
pub use operation::{Operation, OperationError};
pub(crate) use text::CText;
