//! Isolation proofs against a real PostgreSQL, each test in a fresh
//! database cloned from the migrated template.

mod adapters;
mod audit_chain;
mod audit_checks;
mod audit_retention;
mod backfill_repair;
mod billing;
mod binding;
mod catalog_lint;
mod crm;
mod deal_counts;
mod directory;
mod erasure;
mod errors;
mod export_cleanup;
mod figures16;
mod fixtures;
mod import;
mod job_pruning;
mod orphan_sweep;
mod person_counts;
mod person_record;
mod pipeline;
mod pool_leak;
mod probes;
mod property;
mod property_crm;
mod registry;
mod retention;
mod retention_resume;
mod retention_tombstone;
mod rollups;
mod schema_file;
mod tls;
mod value_migration_job;
mod visitor_erasure;
