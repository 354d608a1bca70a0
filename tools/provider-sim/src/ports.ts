// The simulator's listeners: the variable each reads its port from, and the default. main.ts
// reads them; the demo and the harness name them when they start the simulator.
export const SIMULATOR_PORTS = {
  http: { variable: 'PROVIDER_SIM_PORT', default: 4010 },
  apns: { variable: 'PROVIDER_SIM_APNS_PORT', default: 4011 },
  smtp: { variable: 'PROVIDER_SIM_SMTP_PORT', default: 2525 },
} as const;
