DROP TABLE export_downloads;
DROP TABLE exports;
