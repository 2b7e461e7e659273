DROP FUNCTION metiva_job_companies();
DROP FUNCTION metiva_claim_jobs(text, integer, integer);
DROP TABLE jobs;
