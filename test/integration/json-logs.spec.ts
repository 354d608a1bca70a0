import { randomUUID } from 'node:crypto';
import { stopService, waitFor, type RunningService } from '@tools/harness';
import { Herald } from '../support/herald';

/**
 * Issue 17, item 2: with stdout a pipe (not a terminal) and no HERALD_LOG_FORMAT, every line a
 * service prints is one JSON object with service, instance, level and time; the lines about a
 * message carry its messageId and tenantId; kafkajs's lines are JSON lines too; and no line
 * holds a credential.
 */

type Line = Record<string, unknown>;

describe('JSON log lines', () => {
  let herald: Herald;
  const messageId = `json-logs-${randomUUID().slice(0, 8)}`;

  beforeAll(async () => {
    herald = await Herald.start({
      HERALD_LOG_LEVEL: 'debug',
      // Unset (an empty value counts as unset): the default for a pipe is what is tested.
      HERALD_LOG_FORMAT: '',
    });
  });

  afterAll(async () => {
    await herald?.stop();
  });

  it('writes every line of every service as JSON, with the ids of the message it drove', async () => {
    await herald.send(messageId, herald.hook('ok', messageId));
    const { message } = await herald.final(messageId);
    expect(message.status).toBe('sent');

    // The sender logs the attempt before it commits, so the line is out by now; the pipe may
    // still be on its way to this process.
    const about = (service: RunningService) =>
      parsedLines(service).filter((line) => line.messageId === messageId);
    await waitFor(
      "the sender's and ingest's lines about the message",
      () =>
        about(herald.service('sender')).length > 0 && about(herald.service('ingest')).length > 0
          ? true
          : undefined,
      { timeoutMs: 10_000, intervalMs: 100 },
    );

    // The whole output, shutdown included: stopped, and the pipes read to their end.
    for (const service of herald.services) {
      await stopService(service);
      await waitFor(
        `${service.name}'s output to be read to its end`,
        () =>
          [service.process.stdout, service.process.stderr].every((s) => !s || s.closed)
            ? true
            : undefined,
        { timeoutMs: 10_000, intervalMs: 50 },
      );
    }

    const secrets = [herald.key.key, herald.otherKey.key, ...herald.secrets];
    for (const service of herald.services) {
      const text = service.output();
      const lines = text.split('\n').filter((line) => line.trim() !== '');
      expect(lines.length).toBeGreaterThan(0);
      for (const raw of lines) {
        let line: Line;
        try {
          line = JSON.parse(raw) as Line;
        } catch {
          throw new Error(`${service.name} printed a line that is not JSON: ${raw}`);
        }
        expect({ raw, line }).toEqual({
          raw,
          line: expect.objectContaining({
            service: `herald-${service.name}`,
            instance: expect.any(String),
            level: expect.stringMatching(/^(error|warn|info|debug|verbose)$/),
            time: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/),
            msg: expect.any(String),
          }),
        });
        // kafkajs's lines (from debug, its INFO: joins, starts, stops) name it as the context.
        if (String(line.context).startsWith('kafkajs')) {
          expect(line.context).toMatch(/^kafkajs(\.[A-Za-z]+)?$/);
        }
      }
      for (const secret of secrets) expect(text).not.toContain(secret);
    }
    // One instance id per process.
    for (const service of herald.services) {
      expect(new Set(parsedLines(service).map((line) => line.instance)).size).toBe(1);
    }

    const tenantId = herald.key.tenantId;
    const sent = about(herald.service('sender'));
    expect(sent).toContainEqual(
      expect.objectContaining({ level: 'debug', context: 'Sender', tenantId, status: 'sent' }),
    );
    expect(about(herald.service('ingest'))).toContainEqual(
      expect.objectContaining({ context: 'Ingest', tenantId }),
    );
    // Nest's own start-up lines, and ours, are JSON too.
    expect(parsedLines(herald.service('sender'))).toContainEqual(
      expect.objectContaining({ level: 'info', msg: expect.stringMatching(/^listening on http/) }),
    );
  });
});

/** A service's output, parsed line by line (lines that are not JSON are left to the test above). */
function parsedLines(service: RunningService): Line[] {
  return service
    .output()
    .split('\n')
    .flatMap((raw) => {
      try {
        const parsed: unknown = JSON.parse(raw);
        return parsed && typeof parsed === 'object' ? [parsed as Line] : [];
      } catch {
        return [];
      }
    });
}
