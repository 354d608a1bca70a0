import { chunksBySize, type Output } from '@herald/kafka';

function output(key: string, bytes: number, headers?: Output['headers']): Output {
  return { topic: 'herald.message-events', key, value: Buffer.alloc(bytes), headers };
}

describe('chunksBySize (a transaction sends its outputs in runs under the broker limit)', () => {
  it('keeps every output, in order, in runs of at most the limit', () => {
    const outputs = Array.from({ length: 10 }, (_, i) => output(`m${i}`, 98)); // 100 bytes each
    const chunks = chunksBySize(outputs, 250);
    expect(chunks.map((chunk) => chunk.map((o) => o.key))).toEqual([
      ['m0', 'm1'],
      ['m2', 'm3'],
      ['m4', 'm5'],
      ['m6', 'm7'],
      ['m8', 'm9'],
    ]);
  });

  it('sends an output larger than the limit on its own', () => {
    const chunks = chunksBySize([output('a', 10), output('big', 500), output('b', 10)], 100);
    expect(chunks.map((chunk) => chunk.map((o) => o.key))).toEqual([['a'], ['big'], ['b']]);
  });

  it('counts keys and headers as well as values', () => {
    const withHeader = output('k', 50, { 'herald-due-at': '1700000000000' }); // 1 + 50 + 13 + 13
    expect(chunksBySize([withHeader, withHeader], 154)).toHaveLength(1);
    expect(chunksBySize([withHeader, withHeader], 153)).toHaveLength(2);
  });

  it('gives nothing for nothing', () => {
    expect(chunksBySize([])).toEqual([]);
  });
});
