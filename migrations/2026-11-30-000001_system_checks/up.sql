-- A global (not tenant) table for the walking skeleton's database check: it
-- records only a timestamp and a round-trip time, never client data.
CREATE TABLE system_checks (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    checked_at timestamptz NOT NULL DEFAULT now(),
    round_trip_us integer NOT NULL CHECK (round_trip_us >= 0)
);
REVOKE ALL ON system_checks FROM PUBLIC;
GRANT SELECT, INSERT ON system_checks TO metiva_app;
GRANT USAGE ON SEQUENCE system_checks_id_seq TO metiva_app;
