import { isTransientDecodeError } from '@herald/kafka';

/** The registry client's errors carry the HTTP status and the registry's message. */
const registryError = (status: number, message: string) =>
  Object.assign(new Error(`herald - ${message}`), { status });

describe('which decode failures are the registry, not the record', () => {
  it('retries when the registry refuses the credentials or is not where we look', () => {
    expect(isTransientDecodeError(registryError(401, 'Unauthorized'), 7)).toBe(true);
    expect(isTransientDecodeError(registryError(403, 'Forbidden'), 7)).toBe(true);
    // A wrong registry URL answers 404 for every id, naming a path, not the id.
    expect(
      isTransientDecodeError(
        registryError(404, 'RESTEASY003210: Could not find resource for full path: /apis/x'),
        7,
      ),
    ).toBe(true);
    expect(isTransientDecodeError(registryError(503, 'unavailable'), 7)).toBe(true);
    expect(isTransientDecodeError(registryError(429, 'slow down'), 7)).toBe(true);
  });

  it('dead-letters a record whose schema id the registry says does not exist', () => {
    // Apicurio's and Confluent's answers for an unknown id both name it.
    expect(
      isTransientDecodeError(
        registryError(404, "No content with ID '2147483632' was found."),
        2147483632,
      ),
    ).toBe(false);
    expect(isTransientDecodeError(registryError(404, 'Schema 42 not found'), 42)).toBe(false);
    expect(isTransientDecodeError(registryError(404, 'Schema 420 not found'), 42)).toBe(true);
    expect(isTransientDecodeError(registryError(400, 'bad'), 42)).toBe(false);
    // Ids are positive: a record naming a negative one or 0 is bad, and the answer names it
    // with its sign.
    expect(
      isTransientDecodeError(registryError(404, "No content with ID '-1' was found."), -1),
    ).toBe(false);
    expect(isTransientDecodeError(registryError(404, 'Not Found'), 0)).toBe(false);
  });
});
