DROP TABLE lead_sla;
DROP TABLE notes;
DROP TABLE tasks;
