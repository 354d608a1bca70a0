import { GroupCommit } from '@herald/kafka';

describe('GroupCommit', () => {
  it('writes what arrives during a write as the next group, answering each item in order', async () => {
    const groups: number[][] = [];
    let release: () => void = () => undefined;
    const firstWrite = new Promise<void>((resolve) => (release = resolve));
    const commits = new GroupCommit<number, string>(async (items) => {
      groups.push(items);
      if (groups.length === 1) await firstWrite;
      return items.map((item) => `ok ${item}`);
    });

    const first = commits.submit(1);
    const rest = [commits.submit(2), commits.submit(3)];
    release();

    expect(await first).toBe('ok 1');
    expect(await Promise.all(rest)).toEqual(['ok 2', 'ok 3']);
    expect(groups).toEqual([[1], [2, 3]]);
  });

  it('fails every item of a group whose write throws, and carries on with the next', async () => {
    let calls = 0;
    const commits = new GroupCommit<number, number>(async (items) => {
      calls += 1;
      if (calls === 1) throw new Error('broker away');
      return items;
    });

    await expect(commits.submit(1)).rejects.toThrow('broker away');
    await expect(commits.submit(2)).resolves.toBe(2);
  });
});
