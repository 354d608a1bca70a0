import {
  IllegalTransitionError,
  allowedEvents,
  canFollow,
  isTerminal,
  statusAfter,
  transition,
} from '@herald/delivery-status';
import {
  DELIVERY_STATUSES,
  EVENT_TYPES,
  type DeliveryStatus,
  type EventType,
} from '@herald/messages';

const LEGAL: [DeliveryStatus | null, EventType][] = [
  [null, 'queued'],
  [null, 'not_sent'],
  ['queued', 'delivery_attempted'],
  ['queued', 'sent'],
  ['queued', 'undelivered'],
  ['queued', 'delivered'],
  ['queued', 'not_sent'],
  ['queued', 'canceled'],
  ['queued', 'provider_failover'],
  ['delivery_attempted', 'delivery_attempted'],
  ['delivery_attempted', 'sent'],
  ['delivery_attempted', 'undelivered'],
  ['delivery_attempted', 'delivered'],
  ['delivery_attempted', 'canceled'],
  ['delivery_attempted', 'provider_failover'],
  ['sent', 'status_check_attempted'],
  ['sent', 'delivered'],
  ['sent', 'bounced'],
  ['sent', 'undelivered'],
  // Message controls: a resend queues a message that ended unreached again.
  ['undelivered', 'resend_requested'],
  ['bounced', 'resend_requested'],
  ['canceled', 'resend_requested'],
];

const isLegal = (current: DeliveryStatus | null, type: EventType) =>
  LEGAL.some(([from, event]) => from === current && event === type);

describe('delivery status machine', () => {
  it.each(LEGAL)('allows %s -> %s', (current, type) => {
    expect(canFollow(current, type)).toBe(true);
  });

  it('refuses every transition not in the table', () => {
    for (const current of [null, ...DELIVERY_STATUSES]) {
      for (const type of EVENT_TYPES) {
        expect([current, type, canFollow(current, type)]).toEqual([
          current,
          type,
          isLegal(current, type),
        ]);
      }
    }
  });

  it.each([
    [null, 'delivery_attempted'],
    [null, 'sent'],
    ['queued', 'queued'],
    ['queued', 'bounced'],
    ['queued', 'status_check_attempted'],
    ['delivery_attempted', 'not_sent'],
    ['sent', 'sent'],
    ['sent', 'delivery_attempted'],
    ['delivered', 'bounced'],
    ['undelivered', 'delivery_attempted'],
    ['not_sent', 'queued'],
  ] as [DeliveryStatus | null, EventType][])('refuses %s -> %s', (current, type) => {
    expect(canFollow(current, type)).toBe(false);
  });

  it('lets terminal statuses accept nothing but a resend', () => {
    for (const status of DELIVERY_STATUSES) {
      const accepted = allowedEvents(status).filter((type) => type !== 'resend_requested');
      expect([status, isTerminal(status)]).toEqual([status, accepted.length === 0]);
    }
    expect(DELIVERY_STATUSES.filter(isTerminal).sort()).toEqual(
      ['bounced', 'canceled', 'delivered', 'not_sent', 'undelivered'].sort(),
    );
  });

  it('maps every event type but a status check, a failover and a resend to the status of the same name', () => {
    const unlike: EventType[] = ['status_check_attempted', 'provider_failover', 'resend_requested'];
    for (const type of EVENT_TYPES) {
      if (unlike.includes(type)) continue;
      expect(statusAfter(type, 'queued')).toBe(type);
    }
  });

  it('leaves the status unchanged after a status check', () => {
    expect(statusAfter('status_check_attempted', 'sent')).toBe('sent');
    expect(statusAfter('status_check_attempted', null)).toBe('sent');
  });

  it('gives emitters the status to publish or refuses the transition', () => {
    expect(transition('sent', 'status_check_attempted')).toBe('sent');
    expect(transition(null, 'queued')).toBe('queued');
    expect(() => transition('delivered', 'bounced')).toThrow(IllegalTransitionError);
  });
});
