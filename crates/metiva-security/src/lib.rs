//! Security primitives, free of any web framework: passwords, access
//! tokens, the field cipher and IP truncation.

pub mod cipher;
pub mod envelope;
pub mod ip;
pub mod password;
pub mod secret;
pub mod token;
