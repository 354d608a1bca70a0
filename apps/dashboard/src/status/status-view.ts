import type { StatusReport } from '@herald/status-window';
import { humanDuration } from '../pages/view-models';

// What the status page prints, computed from the report as pure functions: the template only
// prints (and escapes) these strings. Times are shown in UTC, the same for every reader.

const OVERALL_TEXT: Record<StatusReport['overall'], string> = {
  operational: 'All systems operational',
  degraded: 'Degraded: some parts of Herald are down or failing',
  major_outage: 'Major outage: messages are not getting through',
};

export interface StatusView {
  overall: StatusReport['overall'];
  overallText: string;
  generatedAt: string;
  generatedClock: string;
  components: {
    name: string;
    kind: string;
    state: 'up' | 'down';
    since: string;
    sinceClock: string;
    /** How long it has been in this state ("3 min 5 s"). */
    forText: string;
    detail: string;
  }[];
  windowMinutes: number;
  channels: {
    channel: string;
    messagesPerMinute: string;
    messages: number;
    failed: number;
    failureRate: string;
  }[];
  latency: { p50: string; p99: string; samples: number };
  providers: { provider: string; calls: number; failed: number; failureShare: string }[];
  incidents: {
    kind: StatusReport['incidents'][number]['kind'];
    subject: string;
    since: string;
    sinceClock: string;
    forText: string;
    detail: string;
  }[];
}

export function statusView(report: StatusReport): StatusView {
  const now = Date.parse(report.generatedAt);
  const lasted = (since: string) => humanDuration(Math.max(0, now - Date.parse(since)));
  return {
    overall: report.overall,
    overallText: OVERALL_TEXT[report.overall],
    generatedAt: report.generatedAt,
    generatedClock: clock(report.generatedAt),
    components: report.components.map((c) => ({
      name: c.name,
      kind: c.kind,
      state: c.state,
      since: c.since,
      sinceClock: clock(c.since, report.generatedAt),
      forText: lasted(c.since),
      detail: c.detail,
    })),
    windowMinutes: report.traffic.windowMinutes,
    channels: report.traffic.channels.map((c) => ({
      channel: c.channel,
      messagesPerMinute: c.messagesPerMinute.toFixed(2),
      messages: c.messages,
      failed: c.failed,
      failureRate: percent(c.failureRate),
    })),
    latency: {
      p50: milliseconds(report.latency.requestToSentP50Ms),
      p99: milliseconds(report.latency.requestToSentP99Ms),
      samples: report.latency.samples,
    },
    providers: report.providers.map((p) => ({
      provider: p.provider,
      calls: p.calls,
      failed: p.failed,
      failureShare: percent(p.failureShare),
    })),
    incidents: report.incidents.map((i) => ({
      kind: i.kind,
      subject: i.subject,
      since: i.since,
      sinceClock: clock(i.since, report.generatedAt),
      forText: lasted(i.since),
      detail: i.detail,
    })),
  };
}

/** 0.125 → "12.5%"; no outcomes yet → "–" (none is not 0%). */
export function percent(share: number | null): string {
  if (share === null) return '–';
  return `${(share * 100).toFixed(1).replace(/\.0$/, '')}%`;
}

function milliseconds(ms: number | null): string {
  return ms === null ? '–' : humanDuration(ms);
}

/** "2026-12-03T10:04:05.123Z" → "10:04:05 UTC", with the date when it is not `today`'s. */
function clock(iso: string, today?: string): string {
  const time = `${iso.slice(11, 19)} UTC`;
  return today === undefined || iso.slice(0, 10) === today.slice(0, 10)
    ? time
    : `${iso.slice(0, 10)} ${time}`;
}
