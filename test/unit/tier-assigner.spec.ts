import { AssignerProtocol, type Cluster } from 'kafkajs';
import { assignByClaim, tierAssigners, TIER_ASSIGNER_NAME } from '@herald/kafka';

const partitions = new Map([
  ['work.delay.250ms', [0, 1, 2, 3]],
  ['work.delay.1s', [0, 1]],
]);

describe('assignByClaim: each tier topic goes to the members claiming it', () => {
  it('deals a topic only to its claimants, in turn', () => {
    const assignment = assignByClaim(
      [
        { memberId: 'b-250', claim: 'work.delay.250ms' },
        { memberId: 'a-1s', claim: 'work.delay.1s' },
        { memberId: 'c-250', claim: 'work.delay.250ms' },
      ],
      partitions,
    );
    expect(Object.fromEntries(assignment)).toEqual({
      'a-1s': { 'work.delay.1s': [0, 1] },
      'b-250': { 'work.delay.250ms': [0, 2] },
      'c-250': { 'work.delay.250ms': [1, 3] },
    });
  });

  it('deals a topic nobody claims to every member, so no partition is left unconsumed', () => {
    const assignment = assignByClaim(
      [
        { memberId: 'm1', claim: 'work.delay.250ms' },
        { memberId: 'm2', claim: null },
      ],
      partitions,
    );
    expect(assignment.get('m1')).toEqual({
      'work.delay.250ms': [0, 1, 2, 3],
      'work.delay.1s': [0],
    });
    expect(assignment.get('m2')).toEqual({ 'work.delay.1s': [1] });
  });

  it('deals the same way whatever order the members come in', () => {
    const members = [
      { memberId: 'x', claim: 'work.delay.250ms' },
      { memberId: 'y', claim: 'work.delay.250ms' },
    ];
    expect(assignByClaim(members, partitions)).toEqual(
      assignByClaim([...members].reverse(), partitions),
    );
  });

  it('gives nothing when there are no members', () => {
    expect(assignByClaim([], partitions).size).toBe(0);
  });
});

describe('tierAssigners: the kafkajs assigner around it', () => {
  const cluster = {
    findTopicPartitionMetadata: (topic: string) =>
      (partitions.get(topic) ?? []).map((partitionId) => ({ partitionId })),
  } as unknown as Cluster;
  const logger = {} as never;

  it('offers its own claim first and round robin second, for a group with older members', () => {
    const [claiming, fallback] = tierAssigners('work.delay.1s');
    expect(claiming!({ cluster, groupId: 'g', logger }).name).toBe(TIER_ASSIGNER_NAME);
    expect(fallback!({ cluster, groupId: 'g', logger }).name).toBe('RoundRobinAssigner');
  });

  it('claims its topic in its metadata and assigns from every member’s claim', async () => {
    const member = (topic: string) => tierAssigners(topic)[0]!({ cluster, groupId: 'g', logger });
    const topics = [...partitions.keys()];
    const members = [
      {
        memberId: 'm-250',
        memberMetadata: member('work.delay.250ms').protocol({ topics }).metadata,
      },
      { memberId: 'm-1s', memberMetadata: member('work.delay.1s').protocol({ topics }).metadata },
    ];
    const result = await member('work.delay.250ms').assign({ members, topics });
    const decoded = Object.fromEntries(
      result.map(({ memberId, memberAssignment }) => [
        memberId,
        AssignerProtocol.MemberAssignment.decode(memberAssignment)?.assignment,
      ]),
    );
    expect(decoded).toEqual({
      'm-250': { 'work.delay.250ms': [0, 1, 2, 3] },
      'm-1s': { 'work.delay.1s': [0, 1] },
    });
  });
});
