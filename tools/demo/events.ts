// `npm run demo -- events [--from-beginning]`: a decoded tail of herald.message-events (its
// values are Avro, unreadable raw), until Ctrl-C.

import { randomUUID } from 'node:crypto';
import type { MessageEvent } from '@herald/messages';
import { TOPICS } from '@herald/topics';
import { bold, dim, errorMessage, red, say, statusStyle } from './output';
import { demoCodec, demoKafka } from './target';

export async function watchEvents(
  servers: { kafkaBrokers: string[]; schemaRegistryUrl: string },
  fromBeginning: boolean,
): Promise<void> {
  const topic = TOPICS.messageEvents;
  const codec = demoCodec(servers.schemaRegistryUrl);
  const kafka = demoKafka(servers.kafkaBrokers);
  // A throwaway group, deleted on exit, so Herald's own groups are never touched.
  const groupId = `herald-demo-events-${randomUUID()}`;
  const consumer = kafka.consumer({ groupId });
  const admin = kafka.admin();
  let stopping = false;
  const stop = async () => {
    // A second Ctrl-C while the group is being deleted gives up on it.
    if (stopping) process.exit(1);
    stopping = true;
    await consumer.disconnect().catch(() => {});
    await admin.connect().catch(() => {});
    await admin.deleteGroups([groupId]).catch(() => {});
    await admin.disconnect().catch(() => {});
    process.exit(0);
  };
  process.on('SIGINT', () => void stop());
  process.on('SIGTERM', () => void stop());

  await consumer.connect();
  await consumer.subscribe({ topic: topic.name, fromBeginning });
  console.error(
    dim(
      `Reading ${topic.name} at ${servers.kafkaBrokers.join(',')}${fromBeginning ? ' from the beginning' : ''}; Ctrl-C stops.`,
    ),
  );
  say(
    bold(
      'OCCURRED AT               MESSAGE                               SEQ  EVENT                   ATTEMPT  NEXT ATTEMPT AT           ERROR',
    ),
  );
  const iso = (ms: number | null | undefined) =>
    ms === null || ms === undefined ? '' : new Date(Number(ms)).toISOString();
  await consumer.run({
    eachMessage: async ({ message }) => {
      let event: MessageEvent;
      try {
        if (!message.value) throw new Error('no value');
        // Read as Herald's current schema, so events written before a field was added show too.
        event = await codec.decode<MessageEvent>(message.value, topic.valueSchema);
      } catch (error) {
        say(red(`(offset ${message.offset}: cannot decode: ${errorMessage(error)})`));
        return;
      }
      say(
        [
          iso(event.occurredAt).padEnd(24),
          String(event.messageId).padEnd(36),
          String(event.seq).padStart(4),
          statusStyle(event.status)(String(event.type).padEnd(22)),
          String(event.attempt).padStart(7),
          iso(event.nextAttemptAt).padEnd(24),
          event.error ? `${event.error.message} (${event.error.category})` : '',
        ]
          .join('  ')
          .trimEnd(),
      );
    },
  });
}
