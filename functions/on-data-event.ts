/** `OnDataEvent` (reference §1.3): a client sent data; 200 makes WCS report ACCEPTED to it, 403 FAILED. */
import { admitData, dataRefusal } from '#shared/admission/data.ts';
import { decisionHook } from '#shared/http/hook-handler.ts';

export const handler = decisionHook('on-data-event', {
  decide: ({ body, receivedAt }) => admitData(body, receivedAt),
  refusal: dataRefusal,
});
