import { AssignerProtocol, PartitionAssigners, type PartitionAssigner } from 'kafkajs';

/**
 * How a stage's delay tiers share one consumer group and still each get a consumer of their
 * own. A tier's consumer waits inside its batch until the head record is due (see
 * runDelayTierConsumer), so it must be given partitions of its own tier only: a consumer that
 * also held a shorter tier's partitions would keep them waiting. Every tier consumer subscribes
 * to all the stage's tier topics (so the group's subscription is the same for every member, as
 * Kafka's protocol expects), and says in its member metadata which tier it claims; whichever
 * member leads the group gives each topic's partitions, in turn, to the members claiming it.
 *
 * The group keeps its name and offsets, and a member of an older Herald (which knows only
 * kafkajs's round robin) can still join: each member offers round robin second, so the group
 * falls back to it until the last old member is gone, at the cost of lateness meanwhile.
 */
export const TIER_ASSIGNER_NAME = 'HeraldTierAssigner';

export interface ClaimingMember {
  memberId: string;
  /** The topic this member consumes, or null when its metadata claims none. */
  claim: string | null;
}

/**
 * Topic → partitions per member: each topic's partitions dealt in turn to the members claiming
 * it (sorted by id, so every leader deals alike); a topic nobody claims is dealt to everyone,
 * so no partition is ever left without a consumer.
 */
export function assignByClaim(
  members: readonly ClaimingMember[],
  partitions: ReadonlyMap<string, readonly number[]>,
): Map<string, Record<string, number[]>> {
  const sorted = [...members].sort((a, b) => (a.memberId < b.memberId ? -1 : 1));
  const assignment = new Map<string, Record<string, number[]>>(
    sorted.map((member) => [member.memberId, {}]),
  );
  for (const [topic, ids] of partitions) {
    const claimants = sorted.filter((member) => member.claim === topic);
    const takers = claimants.length > 0 ? claimants : sorted;
    if (takers.length === 0) continue;
    ids.forEach((partition, i) => {
      const own = assignment.get(takers[i % takers.length]!.memberId)!;
      (own[topic] ??= []).push(partition);
    });
  }
  return assignment;
}

/** The assigners a tier consumer offers, best first: its claim on `topic`, then round robin. */
export function tierAssigners(topic: string): PartitionAssigner[] {
  const claiming: PartitionAssigner = ({ cluster }) => ({
    name: TIER_ASSIGNER_NAME,
    version: 0,
    // Unused by kafkajs for a custom assigner; declared by its Assigner type.
    assignment: {},
    userData: Buffer.alloc(0),
    protocol: ({ topics }) => ({
      name: TIER_ASSIGNER_NAME,
      metadata: AssignerProtocol.MemberMetadata.encode({
        version: 0,
        topics,
        userData: Buffer.from(topic),
      }),
    }),
    assign: async ({ members, topics }) => {
      const claims = members.map(({ memberId, memberMetadata }) => {
        const metadata = AssignerProtocol.MemberMetadata.decode(memberMetadata);
        const claim = metadata?.userData?.length ? metadata.userData.toString() : null;
        return { memberId, claim };
      });
      const partitions = new Map(
        topics.map((name) => [
          name,
          cluster.findTopicPartitionMetadata(name).map((partition) => partition.partitionId),
        ]),
      );
      return [...assignByClaim(claims, partitions)].map(([memberId, assignment]) => ({
        memberId,
        memberAssignment: AssignerProtocol.MemberAssignment.encode({
          version: 0,
          assignment,
          userData: Buffer.alloc(0),
        }),
      }));
    },
  });
  return [claiming, PartitionAssigners.roundRobin];
}
