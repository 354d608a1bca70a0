import { type ServerResponse } from 'node:http';
import { type SimResponse } from '../route';

/** Serialising answers onto the wire, shared by the listeners and the control API. */

export function payloadOf(response: SimResponse): {
  headers: Record<string, string>;
  payload: string;
} {
  const noBody = response.status === 204 || response.status === 304 || response.body === undefined;
  const payload = noBody ? '' : JSON.stringify(response.body);
  return {
    headers: {
      ...(payload === '' ? {} : { 'content-type': 'application/json; charset=utf-8' }),
      ...response.headers,
      'content-length': String(Buffer.byteLength(payload)),
    },
    payload,
  };
}

export function send(res: ServerResponse, response: SimResponse): void {
  if (res.headersSent || res.destroyed) return;
  const { headers, payload } = payloadOf(response);
  res.writeHead(response.status, headers);
  res.end(payload);
}

export function simError(status: number, code: string, message: string): SimResponse {
  return { status, body: { ok: false, error: { status, code, message } } };
}
