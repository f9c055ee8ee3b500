/**
 * The node poller's pure rules (`shared/monitoring/plan.ts`): which metrics a node's profiles and
 * rules collect from a stream, at what rate (OAM: merged per node, the lowest rate wins), and when a
 * threshold alarm is raised and cleared.
 */
import { describe, expect, it } from '@jest/globals';
import { evaluateAlarm, planFor } from '../../shared/monitoring/plan.ts';
import type { Alarm, Profile, Rule } from '../../shared/state/oam-config.ts';

const profile = (id: number, rate: number, metrics: number[], rules: number[] = []): Profile => ({
  id,
  name: `p${id}`,
  rate,
  metrics,
  rules,
});
const rule = (id: number, type: number, value: string, profiles: number[] = []): Rule => ({
  id,
  type,
  name: `r${id}`,
  value,
  profiles,
});
const stream = (name: string, mediaSessionId = `${name}-id`, metrics: Record<string, unknown> = {}) => ({
  name,
  mediaSessionId,
  metrics,
});

describe('a monitoring plan', () => {
  it('collects nothing without profiles', () => {
    const plan = planFor([], []).forNode({});
    expect(plan.collects).toBe(false);
    expect(plan.rateSeconds).toBeUndefined();
    expect([...plan.metricsFor(stream('cam'))]).toEqual([]);
  });

  it('applies every profile to a node with none assigned, and only the assigned ones otherwise', () => {
    const profiles = [profile(1, 30, [3]), profile(2, 5, [10])];
    expect(planFor(profiles, []).forNode({}).rateSeconds).toBe(5);
    const assigned = planFor(profiles, []).forNode({ profiles: [1] });
    expect(assigned.rateSeconds).toBe(30);
    expect([...assigned.metricsFor(stream('cam'))]).toEqual(['VIDEO_RATE']);
  });

  it('merges profiles per stream: the metrics of every profile whose rules select it', () => {
    const profiles = [profile(1, 10, [3], [1]), profile(2, 2, [10, 5])];
    const rules = [rule(1, 0, 'cam-*'), rule(2, 1, 'abc?', [2])];
    const plan = planFor(profiles, rules).forNode({});
    expect(plan.rateSeconds).toBe(2);
    // Profile 1 selects by name; profile 2 by mediaSessionId, through the rule that lists it.
    expect([...plan.metricsFor(stream('cam-1', 'zzz'))].sort()).toEqual(['VIDEO_RATE']);
    expect([...plan.metricsFor(stream('cam-1', 'abcd'))].sort()).toEqual([
      'AUDIO_RATE',
      'VIDEO_FPS',
      'VIDEO_RATE',
    ]);
    expect([...plan.metricsFor(stream('other', 'abcd'))].sort()).toEqual(['AUDIO_RATE', 'VIDEO_FPS']);
    expect([...plan.metricsFor(stream('other', 'zzz'))]).toEqual([]);
  });

  it('numbers metrics as OAM 1.0 does: its example profiles collect height and width, video and audio rate', () => {
    const plan = planFor([profile(1, 30, [1, 2]), profile(2, 30, [3, 10])], []).forNode({ profiles: [1] });
    expect([...plan.metricsFor(stream('cam'))]).toEqual(['VIDEO_HEIGHT', 'VIDEO_WIDTH']);
    const rates = planFor([profile(2, 30, [3, 10])], []).forNode({});
    expect([...rates.metricsFor(stream('cam'))]).toEqual(['VIDEO_RATE', 'AUDIO_RATE']);
  });

  it('ignores a metric id the catalogue does not have', () => {
    const plan = planFor([profile(1, 5, [3, 999])], []).forNode({});
    expect([...plan.metricsFor(stream('x'))]).toEqual(['VIDEO_RATE']);
  });
});

describe('a threshold alarm', () => {
  const below: Alarm = { id: 7, type: 0, name: 'low rate', value: 100_000, metric: 3, time: 1000 };
  const above: Alarm = { id: 8, type: 1, name: 'lossy', value: 10, metric: 11, time: 0 };
  const at = (rate: unknown) => stream('cam', 'm1', { VIDEO_RATE: rate, AUDIO_LOST: rate });

  it('begins a watch when past the threshold, raises it once past it for its time, and ends it back within', () => {
    const begun = evaluateAlarm(below, at(50_000), undefined, 'n@10.0.0.1', 1_000);
    expect(begun).toMatchObject({
      alarmId: 7,
      raised: false,
      breachSince: 1_000,
      metric: 'VIDEO_RATE',
      above: false,
    });
    expect(evaluateAlarm(below, at(40_000), begun, 'n@10.0.0.1', 1_500)).toBe(begun);
    const raised = evaluateAlarm(below, at(40_000), begun, 'n@10.0.0.1', 2_000);
    expect(raised).toMatchObject({ raised: true, raisedAt: 2_000, breachSince: 1_000, value: 40_000 });
    expect(evaluateAlarm(below, at(30_000), raised, 'n@10.0.0.1', 3_000)).toBe(raised);
    expect(evaluateAlarm(below, at(200_000), raised, 'n@10.0.0.1', 4_000)).toBeUndefined();
  });

  it('with no time, is raised at the first sample past it; reads numbers given as text', () => {
    expect(evaluateAlarm(above, at('11'), undefined, 'n@10.0.0.1', 5)).toMatchObject({
      raised: true,
      above: true,
      metric: 'AUDIO_LOST',
    });
    expect(evaluateAlarm(above, at(10), undefined, 'n@10.0.0.1', 5)).toBeUndefined();
  });

  it('keeps the watch as it is when the stream does not report the metric', () => {
    const begun = evaluateAlarm(below, at(1), undefined, 'n@10.0.0.1', 1);
    expect(evaluateAlarm(below, stream('cam', 'm1', {}), begun, 'n@10.0.0.1', 5_000)).toBe(begun);
    expect(
      evaluateAlarm(below, stream('cam', 'm1', { VIDEO_RATE: 'n/a' }), undefined, 'n@10.0.0.1', 5),
    ).toBeUndefined();
  });
});

describe("a rule in OAM's regular expression form", () => {
  it("selects what it matches: OAM's '.*' every stream, a class only its names", () => {
    const plan = planFor(
      [profile(1, 5, [3], [1]), profile(2, 5, [10], [2])],
      [rule(1, 0, '.*'), rule(2, 1, 'id-[0-9]+')],
    ).forNode({});
    expect([...plan.metricsFor(stream('anything', 'zzz'))]).toEqual(['VIDEO_RATE']);
    expect([...plan.metricsFor(stream('anything', 'id-42'))]).toEqual(['VIDEO_RATE', 'AUDIO_RATE']);
  });
});
