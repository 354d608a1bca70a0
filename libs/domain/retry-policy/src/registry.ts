import { type Channel } from '@herald/messages';
import { BUILT_IN_POLICIES, defaultPolicyName } from './built-ins';
import { type RetryPolicy } from './schedules';

export class UnknownPolicyError extends Error {
  override readonly name = 'UnknownPolicyError';

  constructor(
    readonly policyName: string,
    readonly known: readonly string[],
  ) {
    super(`unknown retry policy "${policyName}" (known: ${known.join(', ')})`);
  }
}

/** The policies a service can use by name: the built-ins, then the user's file on top. */
export class PolicyRegistry {
  private readonly policies = new Map<string, RetryPolicy>();

  /** A later policy with the same name replaces an earlier one as a whole. */
  constructor(policies: Iterable<RetryPolicy> = Object.values(BUILT_IN_POLICIES)) {
    for (const policy of policies) this.policies.set(policy.name, policy);
  }

  /** The built-ins, with `overrides` replacing or adding policies by name. */
  static withBuiltIns(overrides: Iterable<RetryPolicy> = []): PolicyRegistry {
    return new PolicyRegistry([...Object.values(BUILT_IN_POLICIES), ...overrides]);
  }

  get(name: string): RetryPolicy | undefined {
    return this.policies.get(name);
  }

  /** The named policy, or the channel's default when the request names none. */
  resolve(name: string | null | undefined, channel: Channel): RetryPolicy {
    const wanted = name ?? defaultPolicyName(channel);
    const policy = this.policies.get(wanted);
    if (!policy) throw new UnknownPolicyError(wanted, this.names());
    return policy;
  }

  names(): string[] {
    return [...this.policies.keys()].sort();
  }
}
