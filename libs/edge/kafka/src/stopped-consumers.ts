import type { Consumer } from 'kafkajs';

/**
 * Consumers of this process that stopped for good. kafkajs restarts a consumer after a retriable
 * error but not after a non-retriable one (a record batch over the broker's size limit, say), and
 * the process would go on answering HTTP while consuming nothing. The liveness check reports them,
 * so that an orchestrator restarts the process; the restarted consumer redoes the uncommitted work.
 */
const stopped = new Map<string, string>();

export function watchForStop(consumer: Consumer, groupId: string): void {
  consumer.on(consumer.events.CRASH, ({ payload }) => {
    if (!payload.restart) stopped.set(groupId, payload.error.message);
  });
}

/** Each stopped consumer's group, with the error that stopped it. */
export function stoppedConsumers(): Record<string, string> {
  return Object.fromEntries(stopped);
}
