import { existsSync, readFileSync } from 'node:fs';
import { describe, expect, it } from '@jest/globals';
import { dedicatedHooks, findHook, HANDLERS, HOOKS } from '../../shared/kernel/registry.ts';

// A copy of the project's WCS reference (shared/reference/wcs-hooks.md), kept in the repository so the test runs anywhere.
const reference = readFileSync(new URL('../fixtures/wcs-hooks-reference.md', import.meta.url), 'utf8');

describe('the hook registry', () => {
  it('lists each method once', () => {
    const methods = HOOKS.map((h) => h.method);
    expect(new Set(methods).size).toBe(methods.length);
  });

  it('has a dedicated handler for each hook the backend acts on', () => {
    expect(
      dedicatedHooks()
        .map((h) => h.method)
        .sort(),
    ).toEqual(
      [
        'ConnectionStatusEvent',
        'DataStatusEvent',
        'ErrorEvent',
        'OnDataEvent',
        'StreamKeepAliveEvent',
        'StreamStatusEvent',
        'connect',
        'playStream',
        'publishStream',
        'stopStream',
        'unPublishStream',
      ].sort(),
    );
  });

  it('names, for every handler, an entry file in functions/', () => {
    for (const name of Object.keys(HANDLERS)) {
      expect(existsSync(new URL(`../../functions/${name}.ts`, import.meta.url))).toBe(true);
    }
  });

  it('covers every hook method the reference names in its catalogue', () => {
    // Methods are written as `name` in §1.1–§1.5; every one that looks like a hook must be registered.
    const catalogue = reference.slice(
      reference.indexOf('## 1. Hook catalogue'),
      reference.indexOf('## 2. `restClientConfig`'),
    );
    const named = new Set(
      [...catalogue.matchAll(/`([A-Za-z]+(?:Event|Stream|HLS|RTSP)?)`/g)].map((m) => m[1] as string),
    );
    const hooksInReference = [...named].filter((n) => /Event$/.test(n) || findHook(n)?.handler !== 'echo');
    for (const method of hooksInReference) expect(HOOKS.map((h) => h.method)).toContain(method);
    expect(hooksInReference.length).toBeGreaterThan(20);
  });

  it('sends a well-formed unknown method to the catch-all, and refuses a malformed one', () => {
    expect(findHook('SomeFutureEvent')).toMatchObject({ handler: 'echo' });
    expect(findHook('StreamStatusEvent')).toMatchObject({ handler: 'stream-status-event', type: 'event' });
    expect(findHook('../etc/passwd')).toBeUndefined();
    expect(findHook('a'.repeat(65))).toBeUndefined();
    expect(findHook('')).toBeUndefined();
  });
});
