DROP FUNCTION metiva_stripe_endpoint(text);
DROP TABLE stripe_events;
DROP TABLE stripe_connections;
DROP TABLE invoice_lines;
DROP TABLE invoice_stripe;
DROP TABLE invoices;
DROP TABLE invoice_counters;
DROP TABLE retainers;
