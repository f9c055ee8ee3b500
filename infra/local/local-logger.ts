/**
 * The logger of the local runtime's own code (the HTTP server, the WebSocket stand-in, the pollers),
 * apart from the functions' logger: the functions append a hook's ids to theirs for the length of
 * an invocation, and a line the server writes about something else must not carry the ids of
 * whatever hook ran last.
 */
import { Logger } from '@aws-lambda-powertools/logger';

export const localLogger = new Logger({ serviceName: 'wcs-hooks-local' });
