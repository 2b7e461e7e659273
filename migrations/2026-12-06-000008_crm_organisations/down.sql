ALTER TABLE persons DROP CONSTRAINT persons_phone_e164;
DROP INDEX persons_organisation_idx;
ALTER TABLE persons
    DROP CONSTRAINT persons_owner_fk,
    DROP CONSTRAINT persons_organisation_fk,
    DROP COLUMN version,
    DROP COLUMN source,
    DROP COLUMN notes,
    DROP COLUMN owner_user_id,
    DROP COLUMN organisation_id;
DROP TABLE organisations;
