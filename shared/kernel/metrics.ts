import { AsyncLocalStorage } from 'node:async_hooks';
import type { MetricUnit } from '@aws-lambda-powertools/metrics';
import { setting } from './config.ts';
import type { ALARMED_METRICS } from './metric-names.ts';

export { METRIC } from './metric-names.ts';

/** A CloudWatch unit, as Powertools names them (`MetricUnit.Count`, `MetricUnit.Milliseconds`...). */
export type Unit = (typeof MetricUnit)[keyof typeof MetricUnit];

/** EMF takes at most 100 metrics in a line, and 100 values of one metric (Powertools flushes at either). */
const MAX_PER_LINE = 100;

/** One invocation's metrics and dimensions, until they are written. */
interface Stored {
  dimensions: Record<string, string>;
  metrics: Map<string, { unit: Unit; values: number[] }>;
}

const fresh = (): Stored => ({ dimensions: {}, metrics: new Map() });

/**
 * The one metrics emitter: CloudWatch Embedded Metric Format, one JSON line per flush on stdout,
 * written as Powertools' `Metrics` writes it (namespace, a `service` dimension, the dimensions added,
 * each metric's name, unit and value, or values when added more than once: the same line, key for
 * key; `test/unit/metrics-emf.test.ts` compares the two). Written by hand because Powertools' own
 * costs a warm hook about 0.15 M instructions a call (its validation, its copies of every store at
 * each step, and a read of the environment at each of them: `bench/results.md`, "CPU per hook"); this
 * keeps what a hook uses: metrics, dimensions, one flush per invocation (`flushMetrics`), and the
 * alarmed single metrics (`countForAlarm`).
 *
 * Namespace from `POWERTOOLS_METRICS_NAMESPACE` (default `WcsHooks`), service from
 * `POWERTOOLS_SERVICE_NAME`. Off with `POWERTOOLS_METRICS_DISABLED=true` (the local runtime, tests),
 * or with `POWERTOOLS_DEV` unless that says otherwise, as Powertools.
 *
 * Each invocation's metrics are its own: in Lambda one invocation runs at a time, and the flush at
 * its end empties the store; the local runtime, which runs several at once in one process, runs
 * each in `withOwnMetrics`.
 */
export class EmfMetrics {
  readonly #namespace: string;
  readonly #service: string;
  readonly #disabled: boolean;
  readonly #own = new AsyncLocalStorage<Stored>();
  #shared = fresh();

  constructor(options: { namespace: string; serviceName: string; disabled: boolean }) {
    this.#namespace = options.namespace;
    this.#service = options.serviceName;
    this.#disabled = options.disabled;
  }

  #stored(): Stored {
    return this.#own.getStore() ?? this.#shared;
  }

  /** Runs `work` with metrics of its own (not those of invocations running beside it). */
  withOwnMetrics<T>(work: () => T): T {
    return this.#own.run(fresh(), work);
  }

  /** Adds a dimension to this invocation's metrics (a second value of the same name replaces the first). */
  addDimension(name: string, value: string): this {
    if (name && value) this.#stored().dimensions[name] = value;
    return this;
  }

  /** Removes this invocation's dimensions (the flush does it too). */
  clearDimensions(): void {
    this.#stored().dimensions = {};
  }

  /** Adds a value of metric `name`; a metric added again in the same invocation keeps every value. */
  addMetric(name: string, unit: Unit, value: number): this {
    const stored = this.#stored();
    const metric = stored.metrics.get(name);
    if (metric) {
      if (metric.unit !== unit)
        throw new Error(`Metric "${name}" has already been added with unit "${metric.unit}", not "${unit}"`);
      metric.values.push(value);
      if (metric.values.length === MAX_PER_LINE) this.publishStoredMetrics();
      return this;
    }
    if (stored.metrics.size === MAX_PER_LINE) this.publishStoredMetrics();
    this.#stored().metrics.set(name, { unit, values: [value] });
    return this;
  }

  hasStoredMetrics(): boolean {
    return this.#stored().metrics.size > 0;
  }

  /** Writes this invocation's metrics, if any, as one EMF line, and empties its metrics and dimensions. */
  publishStoredMetrics(): this {
    const stored = this.#stored();
    const { dimensions, metrics } = stored;
    stored.dimensions = {};
    stored.metrics = new Map();
    if (this.#disabled || metrics.size === 0) return this;
    const definitions: { Name: string; Unit: Unit }[] = [];
    const values: Record<string, number | number[]> = {};
    for (const [name, { unit, values: added }] of metrics) {
      definitions.push({ Name: name, Unit: unit });
      values[name] = added.length === 1 ? (added[0] as number) : added;
    }
    this.#write(['service', ...Object.keys(dimensions)], definitions, { ...dimensions, ...values });
    return this;
  }

  /** Writes one metric at once, in a line of its own with the `service` dimension only. */
  publishSingle(name: string, unit: Unit, value: number): void {
    if (this.#disabled) return;
    this.#write(['service'], [{ Name: name, Unit: unit }], { [name]: value });
  }

  #write(dimensionNames: string[], definitions: { Name: string; Unit: Unit }[], fields: object): void {
    const line = {
      _aws: {
        Timestamp: Date.now(),
        CloudWatchMetrics: [
          { Namespace: this.#namespace, Dimensions: [dimensionNames], Metrics: definitions },
        ],
      },
      service: this.#service,
      ...fields,
    };
    process.stdout.write(`${JSON.stringify(line)}\n`);
  }
}

/** Powertools' reading of a boolean variable (`getBooleanFromEnv` with extended parsing). */
const truthy = (value: string | undefined) =>
  ['1', 'true', 'on', 'yes', 'y'].includes(value?.trim().toLowerCase() ?? '');

const disabledSetting = setting('POWERTOOLS_METRICS_DISABLED');

export const metrics = new EmfMetrics({
  namespace: setting('POWERTOOLS_METRICS_NAMESPACE'),
  serviceName: setting('POWERTOOLS_SERVICE_NAME'),
  disabled: disabledSetting !== undefined ? truthy(disabledSetting) : truthy(setting('POWERTOOLS_DEV')),
});

/**
 * Counts one occurrence of something an alarm watches, as a metric with only the `service`
 * dimension (`ALARMED_METRICS`): an alarm needs one exact metric, and the per-method series the
 * dashboard shows (the same name with a `method` dimension) are many. Emitted at once, apart from
 * the invocation's other metrics, so it is never lost to a failure later in the invocation.
 */
export function countForAlarm(name: (typeof ALARMED_METRICS)[number]): void {
  metrics.publishSingle(name, 'Count', 1);
}

/**
 * Middleware: writes the invocation's metrics when it ends, answered or failed (Powertools'
 * `logMetrics`, for this emitter): one flush per invocation, nothing kept for the next (Lambda may
 * freeze the environment after a call).
 */
export function flushMetrics() {
  const flush = () => {
    metrics.publishStoredMetrics();
  };
  return { after: flush, onError: flush };
}
