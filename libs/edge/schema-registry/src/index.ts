export * from './avro-codec';
export * from './schema-files';
export * from './block-counts';
