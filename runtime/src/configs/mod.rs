//! Configuration of each pallet in the runtime, one module per concern.

mod consensus;
mod migrations;
mod proxy;
mod session_keys;
mod system;

pub use consensus::*;
pub use migrations::*;
pub use proxy::*;
pub use session_keys::*;
pub use system::*;
