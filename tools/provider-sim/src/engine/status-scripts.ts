/**
 * Status scripts: what a provider's status lookup reports for an accepted message as time
 * passes (Twilio `GET .../Messages/{sid}.json`, SendGrid `GET /v3/messages`). Pure: the caller
 * passes the acceptance time and `now`, so transitions are tested without a clock.
 *
 *   delivered-after-<ms>     pending until <ms> after acceptance, then delivered (the default,
 *                            with 500 ms)
 *   undelivered-after-<ms>   pending, then undelivered (the handset never got it)
 *   failed-after-<ms>        pending, then failed (the provider gave up)
 *   pending                  never final, for testing status-check give-up policies
 */

export type FinalPhase = 'delivered' | 'undelivered' | 'failed';

export type StatusScript = { kind: FinalPhase; afterMs: number } | { kind: 'pending' };

export type StatusParseResult = { ok: true; script: StatusScript } | { ok: false; error: string };

export type MessagePhase = 'pending' | FinalPhase;

export interface PhaseAt {
  phase: MessagePhase;
  /** When the message entered this phase (ms since the epoch): what providers report as updated. */
  since: number;
}

export const DEFAULT_STATUS_SCRIPT = 'delivered-after-500';

// A week is far beyond any status-check schedule worth testing; the bound also keeps a typo
// from turning into an imprecise float.
export const MAX_STATUS_AFTER_MS = 7 * 86_400_000;

const AFTER = /^(delivered|undelivered|failed)-after-(\d{1,12})$/;

export function parseStatusScript(text: string): StatusParseResult {
  if (text === 'pending') return { ok: true, script: { kind: 'pending' } };
  const match = AFTER.exec(text);
  const kind = match?.[1] as FinalPhase | undefined;
  if (match && kind) {
    const afterMs = Number(match[2]);
    if (afterMs > MAX_STATUS_AFTER_MS) {
      return {
        ok: false,
        error: `invalid status script "${text}": ms must be 0..${MAX_STATUS_AFTER_MS}`,
      };
    }
    return { ok: true, script: { kind, afterMs } };
  }
  return {
    ok: false,
    error:
      `unknown status script "${text}"; expected delivered-after-<ms>, ` +
      'undelivered-after-<ms>, failed-after-<ms> or pending',
  };
}

/** The phase of a message accepted at `acceptedAt`, as seen at `now`. */
export function phaseAt(script: StatusScript, acceptedAt: number, now: number): PhaseAt {
  if (script.kind === 'pending') return { phase: 'pending', since: acceptedAt };
  const finalAt = acceptedAt + script.afterMs;
  // Inclusive, so `-after-0` is final on the very first lookup.
  return now >= finalAt
    ? { phase: script.kind, since: finalAt }
    : { phase: 'pending', since: acceptedAt };
}

/** The name a parsed status script was written as, for recordings and the control API. */
export function statusScriptName(script: StatusScript): string {
  return script.kind === 'pending' ? 'pending' : `${script.kind}-after-${script.afterMs}`;
}
