export * from './delay-tiers';
