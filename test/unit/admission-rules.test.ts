import { describe, expect, it } from '@jest/globals';
import {
  actingRule,
  connectRule,
  dataRule,
  denialRule,
  keepAliveRule,
  relayTarget,
  sameNodeRule,
  streamGrantRule,
} from '../../shared/admission/rules.ts';
import { DecisionRefusedError } from '../../shared/kernel/errors.ts';
import { type AppPolicy, appPolicyFields } from '../../shared/state/app-policy.ts';
import { newSessionState, type SessionState } from '../../shared/state/sessions.ts';

const SECRET = 'a-secret-of-at-least-thirty-two-characters';
const policy = (fields: Record<string, unknown> = {}): AppPolicy => ({
  ...appPolicyFields.parse(fields),
  appKey: 'app',
});
const open = policy();
const token = policy({ admission: 'token', hs256Secret: SECRET });
const closed = policy({ admission: 'closed' });
const grants = { userId: 'alice', publish: ['cam-*'], play: ['*'], data: true };
const session = (fields: Partial<SessionState> = {}): SessionState => ({
  ...newSessionState({ sessionId: 's1', appKey: 'app', nodeId: 'n1' }),
  ...fields,
});
const refused = (work: () => unknown) => {
  try {
    work();
  } catch (error) {
    if (error instanceof DecisionRefusedError) return error.message;
    throw error;
  }
  return undefined;
};

describe('connectRule', () => {
  it('admits everyone to an open app, with the user of a valid token when one is given', () => {
    expect(connectRule(open, 'app', { kind: 'absent' })).toEqual({});
    expect(connectRule(open, 'app', { kind: 'rejected', reason: 'expired' })).toEqual({});
    expect(connectRule(open, 'app', { kind: 'valid', grants })).toEqual({ grants });
  });

  it('admits to a token app only with a valid token, saying what was wrong', () => {
    expect(connectRule(token, 'app', { kind: 'valid', grants })).toEqual({ grants });
    expect(refused(() => connectRule(token, 'app', { kind: 'absent' }))).toBe(
      'token required at custom.token',
    );
    expect(refused(() => connectRule(token, 'app', { kind: 'rejected', reason: 'token expired' }))).toBe(
      'token expired',
    );
  });

  it('admits nobody to a closed app, whatever the token', () => {
    expect(refused(() => connectRule(closed, 'app', { kind: 'valid', grants }))).toBe(
      'app app admits no client',
    );
  });
});

describe('actingRule', () => {
  it('lets a known session act unless it ended or was revoked', () => {
    expect(refused(() => actingRule(token, session()))).toBeUndefined();
    expect(refused(() => actingRule(token, session({ ended: true, status: 'DISCONNECTED' })))).toBe(
      'session disconnected',
    );
    expect(refused(() => actingRule(open, session({ revoked: true })))).toBe('session revoked');
  });

  it('lets a session this backend never saw act only in an open app', () => {
    expect(refused(() => actingRule(open, undefined))).toBeUndefined();
    expect(refused(() => actingRule(token, undefined))).toMatch(/^session unknown/);
    expect(refused(() => actingRule(closed, undefined))).toMatch(/^session unknown/);
  });
});

describe('sameNodeRule', () => {
  it('lets a session act from its own node, and one this backend never saw from any', () => {
    expect(refused(() => sameNodeRule(session(), 'publishStream', 'n1'))).toBeUndefined();
    expect(refused(() => sameNodeRule(undefined, 'publishStream', 'n2'))).toBeUndefined();
  });

  it('refuses a hook from another node than the session’s, naming both', () => {
    expect(refused(() => sameNodeRule(session(), 'OnDataEvent', 'n2'))).toBe(
      'session s1 is on node n1; this OnDataEvent came from node n2',
    );
  });
});

describe('streamGrantRule', () => {
  const granted = session({ grantsPublish: ['cam-*'], grantsPlay: ['live'] });

  it('in a token app, needs a grant matching the name', () => {
    expect(refused(() => streamGrantRule(token, 'publish', granted, 'cam-1'))).toBeUndefined();
    expect(refused(() => streamGrantRule(token, 'publish', granted, 'other'))).toBe(
      'not allowed to publish "other"',
    );
    expect(refused(() => streamGrantRule(token, 'play', granted, 'live'))).toBeUndefined();
    expect(refused(() => streamGrantRule(token, 'play', granted, 'cam-1'))).toBe(
      'not allowed to play "cam-1"',
    );
  });

  it('needs no grant where the policy does not require one, nor in an open app', () => {
    const playFree = policy({ admission: 'token', hs256Secret: SECRET, playRequiresGrant: false });
    expect(refused(() => streamGrantRule(playFree, 'play', session(), 'any'))).toBeUndefined();
    expect(refused(() => streamGrantRule(open, 'publish', session(), 'any'))).toBeUndefined();
  });
});

describe('dataRule', () => {
  it('in a token app, needs the token’s data claim', () => {
    expect(refused(() => dataRule(token, session({ grantsData: true }), 10))).toBeUndefined();
    expect(refused(() => dataRule(token, session(), 10))).toBe('not allowed to send data');
    expect(refused(() => dataRule(open, session(), 10))).toBeUndefined();
  });

  it('refuses a payload over the app’s limit, naming both sizes', () => {
    const small = policy({ dataMaxBytes: 100 });
    expect(refused(() => dataRule(small, session(), 100))).toBeUndefined();
    expect(refused(() => dataRule(small, session(), 101))).toBe('payload is 101 bytes; the app allows 100');
  });
});

describe('relayTarget', () => {
  it('is the user a payload names in "to", or nobody', () => {
    expect(relayTarget({ to: 'bob', text: 'hi' })).toBe('bob');
    expect(relayTarget({ text: 'hi' })).toBeUndefined();
    expect(relayTarget('hi')).toBeUndefined();
    expect(relayTarget(['bob'])).toBeUndefined();
    expect(relayTarget(null)).toBeUndefined();
  });

  it.each([[''], ['  '], [42], ['-'], ['a*'], ['a?'], ['a#b'], ['x'.repeat(257)]])(
    'refuses %p, which is not one user',
    (to) => {
      expect(refused(() => relayTarget({ to }))).toMatch(/relay target/);
    },
  );
});

describe('keepAliveRule', () => {
  it('refuses only a revoked session: an unknown or ended one keeps its stream', () => {
    expect(refused(() => keepAliveRule(session({ revoked: true }), 'n1'))).toBe('session revoked');
    expect(refused(() => keepAliveRule(undefined, 'n1'))).toBeUndefined();
    expect(refused(() => keepAliveRule(session({ ended: true }), 'n1'))).toBeUndefined();
  });

  it('never refuses a keep-alive from another node than the session’s: its 403 would end another stream', () => {
    expect(refused(() => keepAliveRule(session({ revoked: true }), 'n2'))).toBeUndefined();
  });
});

describe('denialRule', () => {
  const at = '2026-12-07T12:00:00.000Z';
  it('refuses a denied user or token, saying until when, and never the operator’s reason', () => {
    const user = { subject: 'user', name: 'alice', reason: 'abuse', deniedAt: at } as const;
    expect(refused(() => denialRule(user))).toBe('user alice is denied');
    expect(refused(() => denialRule({ ...user, subject: 'token', name: 'j1', until: at }))).toBe(
      `token j1 is denied until ${at}`,
    );
  });

  it('admits when no denial applies', () => {
    expect(refused(() => denialRule(undefined))).toBeUndefined();
  });
});
