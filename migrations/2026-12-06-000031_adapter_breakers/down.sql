DROP TABLE adapter_breakers;
