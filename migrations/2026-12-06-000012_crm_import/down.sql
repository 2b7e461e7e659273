DROP TABLE crm_imports;
