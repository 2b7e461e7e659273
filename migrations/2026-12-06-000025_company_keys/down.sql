DROP TABLE offboardings;
UPDATE companies SET status = 'suspended' WHERE status IN ('offboarding', 'offboarded');
ALTER TABLE companies DROP CONSTRAINT companies_status_check;
ALTER TABLE companies ADD CONSTRAINT companies_status_check CHECK (status IN ('active', 'suspended'));
DROP TABLE company_keys;
