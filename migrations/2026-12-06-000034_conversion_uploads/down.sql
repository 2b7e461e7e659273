DROP TABLE conversion_uploads;
