/**
 * The metrics emitter (`shared/kernel/metrics.ts`) writes what Powertools' `Metrics` writes for the
 * same metrics: each line parsed and compared structurally (namespace, dimension sets, metric names
 * and units, dimension and metric values), the timestamp aside (each takes its own `Date.now()`).
 */

import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import { afterEach, beforeEach, describe, expect, it, jest } from '@jest/globals';
import { EmfMetrics } from '../../shared/kernel/metrics.ts';

const NAMESPACE = 'WcsHooks';
const SERVICE = 'wcs-hooks';

/** The EMF lines written while `write` runs (stdout, and the console Powertools uses with POWERTOOLS_DEV). */
function linesOf(write: () => void): Record<string, unknown>[] {
  const written: string[] = [];
  const stdout = jest.spyOn(process.stdout, 'write').mockImplementation((chunk) => {
    written.push(String(chunk));
    return true;
  });
  const log = jest.spyOn(console, 'log').mockImplementation((line) => void written.push(String(line)));
  const warn = jest.spyOn(console, 'warn').mockImplementation(() => undefined);
  try {
    write();
  } finally {
    stdout.mockRestore();
    log.mockRestore();
    warn.mockRestore();
  }
  return written
    .flatMap((chunk) => chunk.split('\n'))
    .filter((line) => line.startsWith('{"_aws"'))
    .map((line) => JSON.parse(line) as Record<string, unknown>);
}

/** `line` with its timestamp replaced, after checking it is a time in milliseconds. */
function withoutTimestamp(line: Record<string, unknown>): Record<string, unknown> {
  const aws = line._aws as { Timestamp: unknown };
  expect(typeof aws.Timestamp).toBe('number');
  return { ...line, _aws: { ...aws, Timestamp: 'T' } };
}

/** The same steps on either emitter: what each call does to its metrics. */
interface Emitter {
  addDimension(name: string, value: string): unknown;
  addMetric(name: string, unit: (typeof MetricUnit)[keyof typeof MetricUnit], value: number): unknown;
  publishStoredMetrics(): unknown;
}

let powertools: Metrics;
let ours: EmfMetrics;

beforeEach(() => {
  // The tests' environment turns metrics off (test/support/env.ts); Powertools reads it when made.
  process.env.POWERTOOLS_METRICS_DISABLED = 'false';
  powertools = new Metrics({ namespace: NAMESPACE, serviceName: SERVICE });
  ours = new EmfMetrics({ namespace: NAMESPACE, serviceName: SERVICE, disabled: false });
});
afterEach(() => {
  process.env.POWERTOOLS_METRICS_DISABLED = 'true';
});

/** The lines each emitter writes for `steps`, timestamps aside. */
function both(steps: (emitter: Emitter) => void) {
  return {
    powertools: linesOf(() => steps(powertools)).map(withoutTimestamp),
    ours: linesOf(() => steps(ours)).map(withoutTimestamp),
  };
}

describe('the EMF metrics emitter', () => {
  it("writes a hook's line as Powertools does: method dimension, admitted, hooks, latency", () => {
    const { powertools: expected, ours: actual } = both((m) => {
      m.addDimension('method', 'connect');
      m.addMetric('Admitted', MetricUnit.Count, 1);
      m.addMetric('Hooks', MetricUnit.Count, 1);
      m.addMetric('HookLatency', MetricUnit.Milliseconds, 12);
      m.publishStoredMetrics();
    });

    expect(expected).toHaveLength(1);
    expect(actual).toEqual(expected);
    expect(actual[0]).toEqual({
      _aws: {
        Timestamp: 'T',
        CloudWatchMetrics: [
          {
            Namespace: NAMESPACE,
            Dimensions: [['service', 'method']],
            Metrics: [
              { Name: 'Admitted', Unit: 'Count' },
              { Name: 'Hooks', Unit: 'Count' },
              { Name: 'HookLatency', Unit: 'Milliseconds' },
            ],
          },
        ],
      },
      service: SERVICE,
      method: 'connect',
      Admitted: 1,
      Hooks: 1,
      HookLatency: 12,
    });
  });

  it('writes a fallback refused by the fail mode as Powertools does: method, failMode and error dimensions', () => {
    const { powertools: expected, ours: actual } = both((m) => {
      m.addDimension('method', 'publishStream');
      m.addDimension('failMode', 'closed');
      m.addMetric('DecisionFallback', MetricUnit.Count, 1);
      m.addDimension('error', 'Forbidden');
      m.addMetric('HookRejected', MetricUnit.Count, 1);
      m.publishStoredMetrics();
    });

    expect(actual).toEqual(expected);
    expect(actual[0]?._aws).toMatchObject({
      CloudWatchMetrics: [{ Dimensions: [['service', 'method', 'failMode', 'error']] }],
    });
  });

  it('writes a metric added several times as one array of values, with the service dimension alone', () => {
    const { powertools: expected, ours: actual } = both((m) => {
      m.addMetric('WcsNodeDown', MetricUnit.Count, 1);
      m.addMetric('WcsNodeDown', MetricUnit.Count, 1);
      m.addMetric('StreamKeepAliveLost', MetricUnit.Count, 3);
      m.publishStoredMetrics();
    });

    expect(actual).toEqual(expected);
    expect(actual[0]).toMatchObject({ WcsNodeDown: [1, 1], StreamKeepAliveLost: 3 });
  });

  it('writes an alarmed metric at once, in a line of its own, as Powertools writes a single metric', () => {
    const expected = linesOf(() => {
      powertools.addDimension('method', 'connect');
      const single = powertools.singleMetric();
      single.addMetric('DecisionFallback', MetricUnit.Count, 1);
    }).map(withoutTimestamp);
    const actual = linesOf(() => {
      ours.addDimension('method', 'connect');
      ours.publishSingle('DecisionFallback', MetricUnit.Count, 1);
    }).map(withoutTimestamp);

    expect(expected).toHaveLength(1);
    expect(actual).toEqual(expected);
  });

  it('starts a new line past 100 metrics, as Powertools does, and one flush empties what it wrote', () => {
    const { powertools: expected, ours: actual } = both((m) => {
      m.addDimension('method', 'connect');
      for (let i = 0; i < 101; i++) m.addMetric(`M${i}`, MetricUnit.Count, i);
      m.publishStoredMetrics();
      m.publishStoredMetrics();
    });

    expect(expected).toHaveLength(2);
    expect(actual).toEqual(expected);
  });

  it('writes nothing when there is no metric, and nothing at all when disabled', () => {
    const disabled = new EmfMetrics({ namespace: NAMESPACE, serviceName: SERVICE, disabled: true });

    expect(linesOf(() => ours.publishStoredMetrics())).toEqual([]);
    expect(linesOf(() => powertools.publishStoredMetrics())).toEqual([]);
    expect(
      linesOf(() => {
        disabled.addMetric('Hooks', MetricUnit.Count, 1);
        disabled.publishStoredMetrics();
        disabled.publishSingle('HookSpilled', MetricUnit.Count, 1);
      }),
    ).toEqual([]);
    expect(disabled.hasStoredMetrics()).toBe(false);
  });

  it('keeps the metrics of invocations run at once (withOwnMetrics) each to its own line', async () => {
    const written: string[] = [];
    const stdout = jest.spyOn(process.stdout, 'write').mockImplementation((chunk) => {
      written.push(String(chunk));
      return true;
    });
    const invocation = (method: string) =>
      ours.withOwnMetrics(async () => {
        ours.addDimension('method', method);
        await new Promise((resolve) => setImmediate(resolve));
        ours.addDimension('failMode', 'open');
        ours.addMetric('DecisionFallback', MetricUnit.Count, 1);
        await new Promise((resolve) => setImmediate(resolve));
        ours.publishStoredMetrics();
      });
    try {
      await Promise.all([invocation('playStream'), invocation('OnDataEvent')]);
    } finally {
      stdout.mockRestore();
    }

    const lines = written.map((line) => JSON.parse(line) as Record<string, unknown>);
    expect(
      lines.map(({ method, failMode, DecisionFallback }) => ({ method, failMode, DecisionFallback })),
    ).toEqual([
      { method: 'playStream', failMode: 'open', DecisionFallback: 1 },
      { method: 'OnDataEvent', failMode: 'open', DecisionFallback: 1 },
    ]);
  });
});
