import { Logger, LogLevelThreshold } from '@aws-lambda-powertools/logger';
import type { Context } from 'aws-lambda';
import { setting } from './config.ts';

/**
 * The one logger (Powertools, structured JSON). Its level comes from `POWERTOOLS_LOG_LEVEL`
 * (default INFO). Hook handlers append `nodeId`, `appKey`, `sessionId` and `mediaSessionId` to every
 * line they write, so one session can be followed across functions.
 */
export const logger = new Logger({ serviceName: setting('POWERTOOLS_SERVICE_NAME') });

/** Powertools samples DEBUG per invocation only when a sample rate is set. */
const sampled = Number(setting('POWERTOOLS_LOGGER_SAMPLE_RATE') ?? 0) > 0;

/**
 * Whether a DEBUG line can be written at all: at the level set at start, or by sampling. When not, a
 * DEBUG line on the path of every call is not even formatted (`debugLine`).
 */
export const debugEnabled = sampled || logger.level <= LogLevelThreshold.DEBUG;

/** `logger.debug`, or nothing where no DEBUG line can be written (`debugEnabled`). */
export const debugLine: Logger['debug'] = debugEnabled ? logger.debug.bind(logger) : () => undefined;

/**
 * Middleware: the Lambda context on every line of the invocation (`function_request_id`,
 * `cold_start`, ...), and the keys it appended removed when it ends. What Powertools'
 * `injectLambdaContext(logger, { resetKeys: true })` does, the same lines, without its per-call
 * work that changes nothing here (re-deciding the DEBUG sampling when no sample rate is set; the log
 * buffer, which is off): a warm hook's logger costs a third of what it did (`bench/results.md`).
 */
export function lambdaContext() {
  const lambdaContextBefore = (request: { event: unknown; context: Context }) => {
    if (sampled) logger.refreshSampleRateCalculation();
    logger.addContext(request.context);
    if (logger.getLogEvent()) logger.info('Lambda invocation event', { event: request.event });
  };
  const resetKeys = () => {
    logger.resetKeys();
  };
  return { before: lambdaContextBefore, after: resetKeys, onError: resetKeys };
}
