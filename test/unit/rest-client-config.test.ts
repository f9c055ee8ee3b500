import { describe, expect, it } from '@jest/globals';
import { restClientConfigFor } from '../../shared/admission/rest-client-config.ts';
import { decisionHooks, HOOKS } from '../../shared/kernel/registry.ts';
import { type AppPolicy, appPolicyFields } from '../../shared/state/app-policy.ts';

const policy = (fields: Record<string, unknown> = {}): AppPolicy => ({
  ...appPolicyFields.parse(fields),
  appKey: 'app',
});

describe('restClientConfigFor', () => {
  it('asks WCS to act on a 403 (restOnError FAIL) for every hook that decides, after connect', () => {
    const config = restClientConfigFor(policy(), false);
    const deciding = decisionHooks().filter(({ hook }) => hook.type !== 'connect');
    expect(deciding.length).toBeGreaterThan(0);
    for (const { hook } of deciding) expect(config[hook.method]?.restOnError).toBe('FAIL');
  });

  it('leaves every other hook at LOG: WCS must not refuse a client because an event failed', () => {
    const config = restClientConfigFor(policy(), false);
    const deciding = new Set(decisionHooks().map(({ hook }) => hook.method));
    for (const [method, entry] of Object.entries(config)) {
      if (!deciding.has(method)) expect(entry.restOnError).toBe('LOG');
    }
  });

  it('excludes the SDP from every hook that carries one, unless raw SDP is kept', () => {
    const carrying = HOOKS.filter((hook) => hook.carriesSdp).map((hook) => hook.method);
    expect(carrying).toEqual(
      expect.arrayContaining(['publishStream', 'playStream', 'StreamStatusEvent', 'StreamKeepAliveEvent']),
    );
    const excluded = restClientConfigFor(policy(), false);
    const kept = restClientConfigFor(policy(), true);
    for (const method of carrying) {
      expect(excluded[method]?.restExclude).toBe('sdp');
      expect(kept[method]?.restExclude).toBe('');
    }
    expect(excluded.OnDataEvent?.restExclude).toBe('');
  });

  it('is, for the hooks of today, what WCS is told (reference §2)', () => {
    const entry = (restOnError: string, restExclude = 'sdp') => ({
      clientExclude: '',
      restExclude,
      restOnError,
      restPolicy: 'NOTIFY',
      restOverwrite: '',
    });
    expect(restClientConfigFor(policy(), false)).toEqual({
      publishStream: entry('FAIL'),
      playStream: entry('FAIL'),
      unPublishStream: entry('LOG'),
      stopStream: entry('LOG'),
      OnDataEvent: entry('FAIL', ''),
      StreamStatusEvent: entry('LOG'),
      StreamKeepAliveEvent: entry('FAIL'),
    });
  });

  it('overwrites record on publishStream when the app forces recording, and only then', () => {
    expect(restClientConfigFor(policy({ forceRecord: true }), false).publishStream).toMatchObject({
      restOnError: 'FAIL',
      restPolicy: 'OVERWRITE',
      restOverwrite: 'record',
    });
    expect(restClientConfigFor(policy(), false).publishStream?.restPolicy).toBe('NOTIFY');
  });

  it('gives WCS every value as a string (reference §2.1)', () => {
    for (const entry of Object.values(restClientConfigFor(policy({ forceRecord: true }), true)))
      for (const value of Object.values(entry)) expect(typeof value).toBe('string');
  });
});
