DROP TABLE system_checks;
