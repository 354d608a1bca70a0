import { checkReadiness } from '@herald/platform';

describe('checkReadiness', () => {
  it('is ready when every probe answers', async () => {
    const report = await checkReadiness({ a: async () => {}, b: async () => {} }, 100);
    expect(report).toEqual({ ready: true, checks: { a: { status: 'up' }, b: { status: 'up' } } });
  });

  it('names the probe that failed and keeps the others', async () => {
    const report = await checkReadiness(
      {
        kafka: async () => {
          throw new Error('connection refused');
        },
        mongodb: async () => {},
      },
      100,
    );
    expect(report.ready).toBe(false);
    expect(report.checks.kafka).toEqual({ status: 'down', error: 'connection refused' });
    expect(report.checks.mongodb).toEqual({ status: 'up' });
  });

  it('reports a probe that hangs as down after the timeout', async () => {
    const report = await checkReadiness({ registry: () => new Promise<void>(() => {}) }, 20);
    expect(report.ready).toBe(false);
    expect(report.checks.registry?.error).toBe('registry did not answer within 20 ms');
  });
});
