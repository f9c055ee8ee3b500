/** `OnDataEvent` (reference §1.3): a client sent data; 200 makes WCS report ACCEPTED to it, 403 FAILED. */
import { admitData, dataRefusal } from '#shared/admission/data.ts';
import { wcsHook } from '#shared/http/hook-handler.ts';
import { onDataEventBody } from '#shared/kernel/schemas.ts';

export const handler = wcsHook({
  method: 'OnDataEvent',
  decision: true,
  refusal: dataRefusal,
  schema: onDataEventBody,
  handle: ({ body, receivedAt }) => admitData(body, receivedAt),
});
