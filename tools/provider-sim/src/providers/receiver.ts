import { type IncomingHttpHeaders } from 'node:http';
import { Webhook } from 'standardwebhooks';
import { BODY_PARSE_LIMIT } from '../engine/exchange';
import { type ReceiverRegistry } from '../engine/receivers';
import {
  type ProviderRoute,
  type SignatureCheck,
  type SimResponse,
  type Verification,
} from '../route';
import { header } from './shared';

/**
 * `POST /receivers/<script>/<name...>`: a Standard Webhooks receiver for Herald's outbound
 * webhooks. Like /hooks it has no recipient, takes its script from the path and counts attempts
 * per full path; but first it checks the webhook-id / webhook-timestamp / webhook-signature
 * headers against each secret registered for <name>. A delivery that no secret verifies (or for
 * a name with no secrets) is answered 401 and never reaches the script.
 */

const RECEIVERS_PREFIX = '/receivers/';
/** The headers a Standard Webhooks signature covers or carries. */
const SIGNATURE_HEADERS = ['webhook-id', 'webhook-timestamp', 'webhook-signature'] as const;

export interface ReceiverPath {
  script: string;
  /** Everything after `/receivers/<script>/`, URL-decoded; slashes stay part of it. */
  name: string;
}

/** The script and receiver name of a receiver path; undefined for other paths or no name. */
export function receiverPathOf(path: string): ReceiverPath | undefined {
  if (!path.startsWith(RECEIVERS_PREFIX)) return undefined;
  const rest = path.slice(RECEIVERS_PREFIX.length);
  const slash = rest.indexOf('/');
  if (slash === -1 || slash === rest.length - 1) return undefined;
  const rawName = rest.slice(slash + 1);
  let name: string;
  try {
    name = decodeURIComponent(rawName);
  } catch {
    // A malformed escape is kept as written: it simply matches no registration.
    name = rawName;
  }
  return { script: rest.slice(0, slash), name };
}

export interface SignatureVerification extends SignatureCheck {
  /** Why each secret did not verify, aligned with bySecret; undefined where it did. */
  failures: Array<string | undefined>;
}

/**
 * Verifies a delivery with each secret on its own (not "any of them", as a receiver in
 * production would) so a test can tell which secret signed it. `headers` use lower-case names,
 * as node gives them; the standardwebhooks package also rejects timestamps more than five
 * minutes from now.
 */
export function verifyReceiverSignature(
  secrets: readonly string[],
  payload: string,
  headers: IncomingHttpHeaders,
): SignatureVerification {
  const signed: Record<string, string> = {};
  for (const name of SIGNATURE_HEADERS) {
    const value = header(headers, name);
    // Left out when absent, so verify() reports the missing header rather than a mismatch.
    if (value !== undefined) signed[name] = value;
  }
  const failures = secrets.map((secret) => {
    try {
      // jsonParse off: the signature is the question here, not whether the body is JSON.
      new Webhook(secret).verify(payload, signed, { jsonParse: false });
      return undefined;
    } catch (error) {
      return (error as Error).message;
    }
  });
  const bySecret = failures.map((failure) => failure === undefined);
  return { verified: bySecret.includes(true), bySecret, failures };
}

function receiverError(status: number, code: string, message: string): SimResponse {
  return { status, body: { ok: false, error: { status, code, message } } };
}

function refuse(message: string, signature: SignatureCheck): Verification {
  return { refusal: receiverError(401, 'invalid_signature', message), signature };
}

export function receiverRoute(receivers: ReceiverRegistry): ProviderRoute {
  return {
    name: 'receiver',
    methods: ['POST'],
    match: (path) => {
      const receiver = receiverPathOf(path);
      // An empty script is reported as unknown rather than defaulting to ok, as for /hooks.
      return receiver && { script: receiver.script };
    },
    verify: (request) => {
      const name = receiverPathOf(request.path)?.name ?? '';
      const secrets = receivers.get(name) ?? [];
      if (secrets.length === 0) {
        return refuse(
          `no secrets registered for receiver "${name}"; PUT /_sim/receivers/<name> {"secrets": [...]} first`,
          { verified: false, bySecret: [] },
        );
      }
      if (request.bodyBytes > BODY_PARSE_LIMIT) {
        return refuse(
          `the body is over the ${BODY_PARSE_LIMIT} bytes the simulator reads, so its signature cannot be checked`,
          { verified: false, bySecret: secrets.map(() => false) },
        );
      }
      const { failures, ...signature } = verifyReceiverSignature(
        secrets,
        request.body,
        request.headers,
      );
      if (signature.verified) return { signature };
      const reasons = failures.map((reason, index) => `secret ${index}: ${reason}`).join('; ');
      return refuse(
        `no secret registered for receiver "${name}" verified the signature (${reasons})`,
        signature,
      );
    },
    success: () => ({ status: 200, body: { ok: true } }),
    error: (status, { code, message }) => receiverError(status, code, message),
  };
}
