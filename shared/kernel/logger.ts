import { Logger } from '@aws-lambda-powertools/logger';
import { setting } from './config.ts';

/**
 * The one logger (Powertools, structured JSON). Its level comes from `POWERTOOLS_LOG_LEVEL`
 * (default INFO). Hook handlers append `nodeId`, `appKey`, `sessionId` and `mediaSessionId` to every
 * line they write, so one session can be followed across functions.
 */
export const logger = new Logger({ serviceName: setting('POWERTOOLS_SERVICE_NAME') });
