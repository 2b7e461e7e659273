//! Rebuilds this crate when a migration is added, changed or removed:
//! `embed_migrations!` reads the directory at compile time, and cargo
//! would otherwise track only the files it had already seen.

fn main() {
    println!("cargo:rerun-if-changed=../../migrations");
}
