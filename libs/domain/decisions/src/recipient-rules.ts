import type { Channel } from '@herald/messages';

/**
 * What a recipient must look like per channel; a request that breaks these ends `not_sent`
 * before any attempt, since no retry could make it deliverable.
 */
const RULES: Record<Channel, (recipient: string) => string | null> = {
  email: (r) =>
    /^[^\s@]+@[^\s@]+\.[^\s@]+$/.test(r) ? null : 'must be an email address (name@domain)',
  sms: (r) =>
    /^\+[1-9]\d{6,14}$/.test(r) ? null : 'must be a phone number in E.164 form (+14155550123)',
  push: (r) =>
    /^\S{8,4096}$/.test(r) ? null : 'must be a device token (8+ characters, no spaces)',
  chat: (r) => (/^\S{1,256}$/.test(r) ? null : 'must be a channel or user id (no spaces)'),
  in_app: (r) => (/^\S{1,256}$/.test(r) ? null : 'must be a recipient id (no spaces)'),
  webhook: (r) => {
    try {
      const url = new URL(r);
      if (url.protocol !== 'http:' && url.protocol !== 'https:') return 'must be an http(s) URL';
      return null;
    } catch {
      return 'must be an http(s) URL';
    }
  },
};

export function recipientProblem(channel: Channel, recipient: string): string | null {
  if (recipient.trim() === '') return 'must not be empty';
  return RULES[channel](recipient);
}
