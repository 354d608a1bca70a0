// How the demo prints: aligned tables, a little colour on a terminal, durations a person reads.

import type { DeliveryStatus } from '@herald/messages';
import { isTerminal } from '@herald/delivery-status';

type Style = (text: string) => string;

// Colour only where a person reads it: a log file or a pipe gets plain text.
const colour = Boolean(process.stdout.isTTY) && !process.env.NO_COLOR;
const paint =
  (code: string): Style =>
  (text) =>
    colour ? `\x1b[${code}m${text}\x1b[0m` : text;
export const bold = paint('1');
export const dim = paint('2');
export const green = paint('32');
export const red = paint('31');
export const yellow = paint('33');

export const say = (line = ''): void => console.log(line);
export const heading = (text: string): void => say(`\n${bold(text)}`);

/** A table cell: plain text, or text coloured after it is padded (so colour never skews widths). */
export type Cell = string | { text: string; style: Style };

const plain = (cell: Cell | undefined): string =>
  cell === undefined ? '' : typeof cell === 'string' ? cell : cell.text;

export function table(headers: string[], rows: Cell[][], indent = '  '): void {
  const widths = headers.map((header, i) =>
    Math.max(header.length, ...rows.map((row) => plain(row[i]).length)),
  );
  const line = (row: Cell[], styleAll?: Style): string => {
    // Trailing empty cells are dropped so no line ends in (coloured) padding.
    let end = row.length;
    while (end > 1 && plain(row[end - 1]) === '') end -= 1;
    const cells = row.slice(0, end);
    return (
      indent +
      cells
        .map((cell, i) => {
          const text = plain(cell);
          const padded = i === cells.length - 1 ? text : text.padEnd(widths[i] ?? 0);
          const style = styleAll ?? (typeof cell === 'string' ? undefined : cell.style);
          return style ? style(padded) : padded;
        })
        .join('  ')
        .trimEnd()
    );
  };
  say(line(headers, bold));
  for (const row of rows) say(line(row));
}

/** 35 → "35 ms", 1270 → "1.27 s", 125000 → "2 min 5 s". */
export function duration(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)} ms`;
  if (ms < 90_000) return `${(ms / 1000).toFixed(ms < 10_000 ? 2 : 1)} s`;
  const seconds = Math.round(ms / 1000);
  const minutes = Math.floor(seconds / 60);
  return seconds % 60 === 0 ? `${minutes} min` : `${minutes} min ${seconds % 60} s`;
}

/** A back-off as it would be at full speed: whole seconds are precise enough. */
export function roughDuration(ms: number): string {
  if (ms < 1000) return duration(ms);
  const seconds = Math.round(ms / 1000);
  return seconds < 90 ? `${seconds} s` : duration(seconds * 1000);
}

export const offset = (ms: number): string => `+${(ms / 1000).toFixed(3)} s`;

export const plural = (n: number, noun: string): string => `${n} ${noun}${n === 1 ? '' : 's'}`;

/** Green for what reached the provider, red for the other ends, yellow on the way. */
export function statusStyle(status: DeliveryStatus): Style {
  if (status === 'sent' || status === 'delivered') return green;
  return isTerminal(status) ? red : yellow;
}

export const errorMessage = (error: unknown): string =>
  error instanceof Error ? error.message : String(error);
