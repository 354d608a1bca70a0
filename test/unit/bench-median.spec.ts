import { medianOfRuns, type Throughput } from '../../tools/bench/herald/load';

function run(perSecond: number, messages: number, cpu: Record<string, number>): Throughput {
  return {
    messages,
    seconds: messages / perSecond,
    perSecond,
    cpu: { byRole: new Map(Object.entries(cpu)), totalMs: 0, machineBusy: 0.5, cores: 2 },
  };
}

describe("the bench's median of repeated throughput runs", () => {
  it('takes the run of median rate, and each process its median CPU per message', () => {
    const median = medianOfRuns([
      run(900, 1000, { sender: 500, projector: 300 }),
      run(1100, 1000, { sender: 400, projector: 900 }), // a projector compaction in this one
      run(1000, 2000, { sender: 1000, projector: 700 }),
    ]);
    expect(median.perSecond).toBe(1000);
    expect(median.rates).toEqual([900, 1000, 1100]);
    // Per message: sender 0.5 / 0.4 / 0.5 → 0.5; projector 0.3 / 0.9 / 0.35 → 0.35; × 2,000.
    expect(Object.fromEntries(median.cpu!.byRole)).toEqual({ sender: 1000, projector: 700 });
    expect(median.cpu!.totalMs).toBe(1700);
  });

  it('is the one run itself when there is only one', () => {
    const only = run(1000, 1000, { sender: 500 });
    expect(medianOfRuns([only])).toMatchObject({ perSecond: 1000, rates: [1000] });
  });
});
