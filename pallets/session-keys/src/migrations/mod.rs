//! Storage migrations of the adjudicator, one module per storage version.

pub mod v1;
pub mod v2;
pub mod v3;
