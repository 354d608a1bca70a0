export interface Truncated {
  text: string;
  truncated: boolean;
  /** Size of the whole input in UTF-8 bytes. */
  originalBytes: number;
}

/**
 * Keeps at most `limitBytes` UTF-8 bytes of `text`, cutting before a character that would
 * straddle the limit, and appends `…[truncated, N bytes total]` (the marker is not counted in
 * the limit). Text within the limit is returned unchanged.
 */
export function truncateUtf8(text: string, limitBytes: number): Truncated {
  const originalBytes = Buffer.byteLength(text, 'utf8');
  const limit = Number.isFinite(limitBytes) ? Math.max(0, Math.floor(limitBytes)) : 0;
  if (originalBytes <= limit) return { text, truncated: false, originalBytes };

  const bytes = Buffer.from(text, 'utf8');
  let cut = limit;
  // A byte of the form 10xxxxxx continues a character that began before it.
  while (cut > 0 && ((bytes[cut] ?? 0) & 0xc0) === 0x80) cut -= 1;
  const kept = bytes.subarray(0, cut).toString('utf8');
  return {
    text: `${kept}…[truncated, ${originalBytes} bytes total]`,
    truncated: true,
    originalBytes,
  };
}
