/** The provider simulator's public API, as `@tools/provider-sim`: tests, the demo and the bench. */
export * from './simulator';
export { simulatorProviderEnv } from './provider-env';
export * from './ports';
