//! The teamsAsyncOperation resource: its enums, its fields, and how a body is parsed.

mod enums;
mod field;
mod operation;
mod text;

pub use enums::{OperationType, Status};
pub(crate) use field::Field;
pub use operation::{Operation, OperationError};
