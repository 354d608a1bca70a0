import { randomUUID } from 'node:crypto';
import { hookScriptOf } from '../engine/scripts';
import { type ProviderRoute } from '../route';

/**
 * `POST /hooks/<script>/<anything...>`: a generic webhook receiver. It has no recipient, so
 * attempts are counted per full path and the script comes from the path.
 */
export const webhookRoute: ProviderRoute = {
  name: 'webhook',
  methods: ['POST'],
  match: (path) => {
    if (path !== '/hooks' && !path.startsWith('/hooks/')) return undefined;
    // An empty script is reported as unknown rather than defaulting to ok, to surface typos.
    return { script: hookScriptOf(path) ?? '' };
  },
  success: () => ({ status: 200, body: { ok: true, id: randomUUID() } }),
  error: (status, { code, message }) => ({
    status,
    body: { ok: false, error: { status, code, message } },
  }),
};
