/**
 * Readiness is the conjunction of named probes, each bounded by a timeout so a hung
 * dependency reports "down" within seconds instead of hanging the health endpoint.
 */
export type Probe = () => Promise<void>;

export interface ReadinessReport {
  ready: boolean;
  checks: Record<string, { status: 'up' | 'down'; error?: string }>;
}

export async function checkReadiness(
  probes: Record<string, Probe>,
  timeoutMs: number,
): Promise<ReadinessReport> {
  const entries = await Promise.all(
    Object.entries(probes).map(async ([name, probe]) => {
      try {
        await withTimeout(probe(), timeoutMs, `${name} did not answer within ${timeoutMs} ms`);
        return [name, { status: 'up' as const }] as const;
      } catch (error) {
        return [name, { status: 'down' as const, error: (error as Error).message }] as const;
      }
    }),
  );
  const checks = Object.fromEntries(entries);
  return { ready: entries.every(([, check]) => check.status === 'up'), checks };
}

function withTimeout<T>(promise: Promise<T>, ms: number, message: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(message)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/**
 * Set from the first moment of shutdown (SIGTERM): readiness answers 503 while the service
 * finishes its running work, so a load balancer stops sending it requests at once.
 */
let shuttingDown = false;

export function markShuttingDown(): void {
  shuttingDown = true;
}

export function isShuttingDown(): boolean {
  return shuttingDown;
}
