/**
 * What to collect from each node, and when an alarm changes: pure rules over OAM's configuration
 * (reference §5.2), unit-tested on their own.
 *
 * - A profile collects its metrics every `rate` seconds from the streams its rules select: a rule
 *   belongs to a profile when the profile lists it or it lists the profile; a profile with no rule
 *   selects every stream. A rule is a template over the stream name (type 0) or the mediaSessionId
 *   (type 1): a glob (`*` any characters, `?` one) or OAM's regular expression (`.*`), as
 *   `kernel/rule-pattern.ts` tells them apart, matched in linear time.
 * - The profiles of a node are those `node/update` assigned to it, or every profile when none was;
 *   merged per node: a stream gets the metrics of every profile that selects it, and the node is
 *   polled at the lowest rate among them (OAM: "the lowest rate wins").
 * - A threshold alarm watches one metric of every stream on its node (or on every node): past its
 *   value (`type` 1 above, 0 below) continuously for `time` ms it is raised; back within, or the
 *   stream gone, it is cleared.
 */
import { globMatches } from '../kernel/glob.ts';
import { compileRulePattern, type RulePattern, RulePatternError } from '../kernel/rule-pattern.ts';
import { streamMetricById } from '../kernel/stream-metrics.ts';
import type { AlarmState, NodeStatus } from '../state/monitoring.ts';
import { ALARM_TYPES, type Alarm, type Profile, RULE_TYPES, type Rule } from '../state/oam-config.ts';

/** A stream as a WCS node lists it (`stream/find_all`, `stream/find`; reference §4). */
export interface WcsStream {
  readonly mediaSessionId: string;
  readonly sessionId?: unknown;
  readonly appKey?: unknown;
  readonly name?: unknown;
  readonly published?: unknown;
  readonly status?: unknown;
  /** With `display: ["metrics"]`, or read with `stream/metrics`: values by `enumName`. */
  metrics?: Record<string, unknown> | undefined;
}

export interface NodePlan {
  /** Some profile applies to the node. */
  readonly collects: boolean;
  /** Seconds between polls: the lowest rate of the node's profiles; `undefined` without profiles. */
  readonly rateSeconds: number | undefined;
  /** The metrics (`enumName`s) to sample from `stream`: those of every profile that selects it. */
  metricsFor(stream: WcsStream): ReadonlySet<string>;
}

export interface MonitoringPlan {
  forNode(node: Pick<NodeStatus, 'profiles'>): NodePlan;
}

/**
 * `rule`'s value compiled once per plan. rule/create and rule/update refuse what cannot be compiled;
 * a value stored before they did, which RE2 refuses, is matched as the glob it was then.
 */
function patternOf(rule: Rule): RulePattern {
  try {
    return compileRulePattern(rule.value);
  } catch (error) {
    if (!(error instanceof RulePatternError)) throw error;
    return { kind: 'glob', matches: (name) => globMatches(rule.value, name) };
  }
}

export function planFor(profiles: readonly Profile[], rules: readonly Rule[]): MonitoringPlan {
  const patterns = new Map(rules.map((r) => [r.id, patternOf(r)]));
  const selects = (rule: Rule, stream: WcsStream) => {
    const subject = rule.type === RULE_TYPES.mediaSessionId ? stream.mediaSessionId : stream.name;
    return typeof subject === 'string' && (patterns.get(rule.id)?.matches(subject) ?? false);
  };
  const rulesOf = new Map(
    profiles.map((p) => [p.id, rules.filter((r) => p.rules.includes(r.id) || r.profiles.includes(p.id))]),
  );
  const metricsOf = new Map(
    profiles.map((p) => [
      p.id,
      p.metrics.flatMap((id) => {
        const metric = streamMetricById(id);
        return metric ? [metric.enumName] : [];
      }),
    ]),
  );
  return {
    forNode(node) {
      const assigned = node.profiles && node.profiles.length > 0 ? new Set(node.profiles) : undefined;
      const applied = profiles.filter((p) => !assigned || assigned.has(p.id));
      return {
        collects: applied.length > 0,
        rateSeconds: applied.length > 0 ? Math.min(...applied.map((p) => p.rate)) : undefined,
        metricsFor(stream) {
          const wanted = new Set<string>();
          for (const profile of applied) {
            const profileRules = rulesOf.get(profile.id) ?? [];
            if (profileRules.length > 0 && !profileRules.some((r) => selects(r, stream))) continue;
            for (const name of metricsOf.get(profile.id) ?? []) wanted.add(name);
          }
          return wanted;
        },
      };
    },
  };
}

/**
 * The watch of `alarm` on `stream` after a sample taken at `now`: `undefined` when the metric is
 * within the threshold (a watch there before is ended: cleared if it was raised), `before` itself
 * when nothing changes, or the new state (a breach begun, or the alarm raised once the breach has
 * lasted `time`). A stream that does not report the metric keeps the watch as it is.
 */
export function evaluateAlarm(
  alarm: Alarm,
  stream: WcsStream,
  before: AlarmState | undefined,
  nodeId: string,
  now: number,
): AlarmState | undefined {
  const enumName = streamMetricById(alarm.metric)?.enumName;
  const raw = enumName === undefined ? undefined : stream.metrics?.[enumName];
  const value = typeof raw === 'number' ? raw : typeof raw === 'string' ? Number(raw) : Number.NaN;
  if (!Number.isFinite(value)) return before;
  const breached = alarm.type === ALARM_TYPES.above ? value > alarm.value : value < alarm.value;
  if (!breached) return undefined;
  if (before?.raised) return before;
  const breachSince = before?.breachSince ?? now;
  const raised = now - breachSince >= alarm.time;
  if (before && !raised) return before;
  return {
    alarmId: alarm.id,
    alarmName: alarm.name,
    metric: enumName as string,
    threshold: alarm.value,
    above: alarm.type === ALARM_TYPES.above,
    nodeId,
    mediaId: stream.mediaSessionId,
    ...(typeof stream.name === 'string' && { name: stream.name }),
    breachSince,
    raised,
    ...(raised && { raisedAt: now }),
    value,
  };
}
