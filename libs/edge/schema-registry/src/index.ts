export * from './avro-codec';
export * from './schema-files';
