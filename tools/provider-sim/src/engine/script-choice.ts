import { parseScript, type Script } from './scripts';
import { DEFAULT_STATUS_SCRIPT, parseStatusScript, type StatusScript } from './status-scripts';
import {
  inlineScriptsOf,
  type InlineScripts,
  type Named,
  type RecipientRegistry,
  registrationOn,
} from './recipients';

/**
 * Which script a request runs: an override header, the recipient's registration, an inline
 * prefix in the recipient, the path's script, or ok, in that order.
 */

/** Script names per recipient, as `PUT /_sim/recipients/<r>` takes them. */
export interface RecipientScripts {
  send?: string | null;
  status?: string | null;
  check?: string | null;
}

/** A script that failed to parse still has a name: recordings and the 400 answer carry it. */
export type ChosenScript = Named<Script> | { name: string; error: string };

export const OK: Named<Script> = { name: 'ok', script: { kind: 'ok' } };
export const NO_INLINE: InlineScripts = {};
const DEFAULT_STATUS: Named<StatusScript> = (() => {
  const parsed = parseStatusScript(DEFAULT_STATUS_SCRIPT);
  if (!parsed.ok) throw new Error(parsed.error);
  return { name: DEFAULT_STATUS_SCRIPT, script: parsed.script };
})();

/** Inline scripts need a '+'; skipping the parse otherwise keeps plain recipients cheap. */
export function inlineOf(recipient: string | undefined): InlineScripts {
  return recipient !== undefined && recipient.includes('+')
    ? inlineScriptsOf(recipient)
    : NO_INLINE;
}

/**
 * The send script for a request: X-Sim-Script, then the recipient's registration (`check`
 * for status lookups, `send` otherwise), then an inline prefix (sends only), then the path's.
 */
export function sendScriptFor(
  registry: RecipientRegistry,
  kind: 'send' | 'check',
  recipient: string | undefined,
  inline: InlineScripts,
  override: string | undefined,
  pathScript: string | undefined,
  /** The route's name: a registration limited to other routes does not apply. */
  route: string,
): ChosenScript {
  if (override === undefined && recipient !== undefined) {
    const registered = registrationOn(registry.get(recipient), route);
    const found = kind === 'check' ? registered?.check : (registered?.send ?? inline.send);
    if (found) return found;
  }
  const name = override ?? pathScript ?? 'ok';
  if (name === 'ok') return OK;
  const parsed = parseScript(name);
  return parsed.ok ? { name, script: parsed.script } : { name, error: parsed.error };
}

/** What later status lookups report for a message accepted for this recipient. */
export function statusScriptFor(
  registry: RecipientRegistry,
  recipient: string | undefined,
  inline: InlineScripts,
): Named<StatusScript> {
  return (
    (recipient === undefined ? undefined : registry.get(recipient)?.status) ??
    inline.status ??
    DEFAULT_STATUS
  );
}
