// Reading the message list's HTML for real ids and a recipient, by the page contract's
// selectors (docs/plans/dashboard.md): `tr[data-message-id]`, `a.message-link`, `td.attempts`,
// `td.channel`, `td.recipient`. Regular expressions do: the page is ours and its markup simple,
// and the timing needs no HTML parser dependency for it.

export interface ListedMessage {
  /** The link's path, as the page wrote it (`/messages/<id>`, the id URL-encoded). */
  href: string;
  id: string;
  attempts: number;
  channel: string;
  recipient: string;
}

const ROW = /<tr\b[^>]*\bdata-message-id="([^"]*)"[^>]*>([\s\S]*?)<\/tr>/g;
const ANCHOR = /<a\b[^>]*>/g;

const ENTITIES: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'" };

/** What the template's escaping (&, <, >, ", ') turned text back into. */
export function unescapeHtml(text: string): string {
  return text.replace(/&(#x[0-9a-f]+|#\d+|[a-z]+);/gi, (whole, name: string) => {
    if (name[0] === '#') {
      const code =
        name[1] === 'x' || name[1] === 'X' ? parseInt(name.slice(2), 16) : Number(name.slice(1));
      return Number.isFinite(code) ? String.fromCodePoint(code) : whole;
    }
    return ENTITIES[name.toLowerCase()] ?? whole;
  });
}

function attribute(tag: string, name: string): string | undefined {
  const match = new RegExp(`\\s${name}="([^"]*)"`).exec(tag);
  return match?.[1] === undefined ? undefined : unescapeHtml(match[1]);
}

/** The text of the row's `td.<name>` cell, tags stripped. */
function cell(row: string, name: string): string {
  const match = new RegExp(
    `<td\\b[^>]*\\sclass="(?:[^"]*\\s)?${name}(?:\\s[^"]*)?"[^>]*>([\\s\\S]*?)</td>`,
  ).exec(row);
  return match?.[1] === undefined ? '' : unescapeHtml(match[1].replace(/<[^>]*>/g, '')).trim();
}

/** The row's `a.message-link` href, if it is a message's page on this dashboard. */
function messageHref(row: string): string | undefined {
  for (const [tag] of row.matchAll(ANCHOR)) {
    const classes = attribute(tag, 'class')?.split(/\s+/) ?? [];
    const href = attribute(tag, 'href');
    // Only a path of ours: the timing requests what it finds here.
    if (classes.includes('message-link') && href?.startsWith('/messages/')) return href;
  }
  return undefined;
}

/** Every message row of a `/messages` page, in the page's order (newest first). */
export function listedMessages(html: string): ListedMessage[] {
  const messages: ListedMessage[] = [];
  for (const [, id = '', row = ''] of html.matchAll(ROW)) {
    const href = messageHref(row);
    if (!href) continue;
    messages.push({
      href,
      id: unescapeHtml(id),
      attempts: Number(cell(row, 'attempts')) || 0,
      channel: cell(row, 'channel'),
      recipient: cell(row, 'recipient'),
    });
  }
  return messages;
}

/** The `a#next-page` href, when the list has an older page. */
export function nextPageHref(html: string): string | undefined {
  for (const [tag] of html.matchAll(ANCHOR)) {
    const href = attribute(tag, 'href');
    if (attribute(tag, 'id') === 'next-page' && href?.startsWith('/messages')) return href;
  }
  return undefined;
}

/** What the timing requests: the newest message, one retried (most logs), a feed's recipient. */
export interface Picks {
  first: ListedMessage | undefined;
  /** The most attempts (the longest Logs tab), other than the newest when another was retried. */
  retried: ListedMessage | undefined;
  /** An in-app message's recipient (the feed holds in-app messages), else any recipient. */
  recipient: string | undefined;
}

export function pick(messages: readonly ListedMessage[]): Picks {
  const inApp = messages.find((message) => message.channel === 'in_app' && message.recipient);
  const first = messages[0];
  const mostAttempts = (candidates: readonly ListedMessage[]) =>
    candidates
      .filter((message) => message.attempts > 1)
      .reduce<ListedMessage | undefined>(
        (most, message) => (most && most.attempts >= message.attempts ? most : message),
        undefined,
      );
  return {
    first,
    // A second message's pages when there is one: two different timelines say more than one.
    retried: mostAttempts(messages.slice(1)) ?? mostAttempts(messages.slice(0, 1)),
    recipient: (inApp ?? messages.find((message) => message.recipient))?.recipient,
  };
}
