//! Security primitives, free of any web framework.

pub mod password;
pub mod token;
