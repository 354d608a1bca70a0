/** Injection tokens for the shared connections every service gets from HeraldPlatformModule. */
export const HERALD_CONFIG = Symbol('HERALD_CONFIG');
export const KAFKA = Symbol('KAFKA');
export const KAFKA_ADMIN = Symbol('KAFKA_ADMIN');
export const AVRO_CODEC = Symbol('AVRO_CODEC');
export const MONGO_CLIENT = Symbol('MONGO_CLIENT');
export const MONGO_DB = Symbol('MONGO_DB');
export const PROVIDERS = Symbol('PROVIDERS');
export const POLICIES = Symbol('POLICIES');
