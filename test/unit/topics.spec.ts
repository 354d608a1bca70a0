import { ALL_TOPICS, TOPICS, valueSubject } from '@herald/topics';

describe('topic declarations', () => {
  it('declares every topic of the contract', () => {
    expect(ALL_TOPICS.map((topic) => topic.name)).toEqual(
      expect.arrayContaining([
        'herald.messages.requested',
        'herald.message-events',
        'herald.dead-letter',
      ]),
    );
  });

  it('keeps the message events forever', () => {
    expect(TOPICS.messageEvents.config['retention.ms']).toBe('-1');
  });

  it('has unique names and positive partition counts', () => {
    const names = ALL_TOPICS.map((topic) => topic.name);
    expect(new Set(names).size).toBe(names.length);
    for (const topic of ALL_TOPICS) expect(topic.partitions).toBeGreaterThan(0);
  });

  it('uses the TopicNameStrategy subject', () => {
    expect(valueSubject('herald.message-events')).toBe('herald.message-events-value');
  });
});
