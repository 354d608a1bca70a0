import { createKafka, siblingKafka } from '@herald/kafka';
import { Kafka } from 'kafkajs';

/**
 * kafkajs keeps committed offsets in one map per client, by group, that every consumer made
 * from the client shares (and clears when it joins). Clients are made without connecting.
 */
function committedOffsetsMap(kafka: Kafka): unknown {
  const symbol = Object.getOwnPropertySymbols(kafka).find(
    (candidate) => candidate.description === 'private:Kafka:offsets',
  );
  expect(symbol).toBeDefined();
  return (kafka as unknown as Record<symbol, unknown>)[symbol!];
}

describe('siblingKafka', () => {
  it('makes a client alike with committed offsets of its own', () => {
    const kafka = createKafka({ brokers: ['127.0.0.1:9092'], clientId: 'herald-sender' });
    const sibling = siblingKafka(kafka);
    expect(sibling).toBeInstanceOf(Kafka);
    expect(committedOffsetsMap(sibling)).toBeInstanceOf(Map);
    expect(committedOffsetsMap(sibling)).not.toBe(committedOffsetsMap(kafka));
    // A sibling of a sibling is made alike too.
    expect(committedOffsetsMap(siblingKafka(sibling))).not.toBe(committedOffsetsMap(sibling));
  });

  it('refuses a client it did not make, whose settings it does not know', () => {
    const foreign = new Kafka({ brokers: ['127.0.0.1:9092'], clientId: 'other' });
    expect(() => siblingKafka(foreign)).toThrow('not made by createKafka');
  });
});
