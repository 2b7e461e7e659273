DROP FUNCTION metiva_twilio_endpoint(text);
DROP TABLE twilio_endpoints;
DROP TABLE sms_messages;
DROP TABLE phone_codes;
DROP TABLE member_phones;
