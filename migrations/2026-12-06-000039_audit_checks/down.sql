DROP TABLE export_files_removed;
DROP TABLE audit_chain_checks;
