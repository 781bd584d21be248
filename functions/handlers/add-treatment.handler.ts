import { treatmentRecordSchema } from '#claims/records.schema.ts';
import { addTreatment } from '#claims/records.ts';
import { httpHandler, json } from '#http/http-handler.ts';
import { parseJsonBody } from '#http/json-body.ts';
import * as app from './app-context.ts';

/** POST /treatments: record a treatment that billed services can be matched against. */
export const handler = httpHandler(['analyst', 'rules-admin'], async ({ event, identity }) => {
  const record = parseJsonBody(event, treatmentRecordSchema);
  const records = app.records();
  const clock = app.clock;
  const { receipt, created } = await addTreatment(record, identity, { records, clock });
  return json(created ? 201 : 200, {
    ...record,
    journal: receipt && { index: receipt.index, leafHash: receipt.leafHash },
  });
});
