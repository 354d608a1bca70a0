import type { Consumer } from 'kafkajs';
import { stoppedConsumers, watchForStop } from '@herald/kafka';

/** Just enough of a kafkajs consumer to emit its crash event. */
function fakeConsumer() {
  const listeners: Array<(event: unknown) => void> = [];
  const consumer = {
    events: { CRASH: 'consumer.crash' },
    on: (_event: string, listener: (event: unknown) => void) => listeners.push(listener),
  } as unknown as Consumer;
  const crash = (restart: boolean, message: string) =>
    listeners.forEach((listener) => listener({ payload: { error: new Error(message), restart } }));
  return { consumer, crash };
}

describe('stopped consumers (what /health/live reports)', () => {
  it('remembers a consumer kafkajs will not restart, with its error', () => {
    const { consumer, crash } = fakeConsumer();
    watchForStop(consumer, 'herald-sender');
    crash(true, 'a retriable error: kafkajs restarts the consumer');
    expect(stoppedConsumers()).toEqual({});

    crash(false, 'The request included a message larger than the max message size');
    expect(stoppedConsumers()).toEqual({
      'herald-sender': 'The request included a message larger than the max message size',
    });
  });
});
