//! Storage migrations of the adjudicator: one module per storage version, run in the block of
//! the runtime upgrade, and [`retired`], which rewrites the retired records of versions 1 and 2
//! over as many blocks as it takes (a multi-block migration).

pub mod retired;
pub mod v1;
pub mod v2;
pub mod v3;
