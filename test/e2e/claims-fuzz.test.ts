import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { demoClaim } from '../../functions/local/demo-seed.ts';
import { createDocumentClient, tableNamesFor } from '../../functions/store/dynamo-client.ts';
import { JournalRepository } from '../../functions/store/journal.repository.ts';
import { call } from '../support/http.ts';
import { type E2eStack, startE2eStack } from '../support/local-stack.ts';

/** No input yields a 5xx, and a rejected request writes nothing (DESIGN.md "Quality bar"). */
describe('POST /claims under arbitrary input', () => {
  let stack: E2eStack;
  let journal: JournalRepository;
  beforeAll(async () => {
    stack = await startE2eStack();
    journal = new JournalRepository(
      createDocumentClient({ endpoint: stack.dynamoEndpoint }),
      tableNamesFor(stack.tablePrefix).journal,
    );
  });
  afterAll(async () => {
    await stack?.stop();
  });

  const expectNoWriteUnlessAccepted = async (send: () => ReturnType<typeof call>) => {
    const before = await journal.size();
    const res = await send();
    expect(res.status).toBeLessThan(500);
    expect(res.status).toBeGreaterThanOrEqual(200);
    if (res.status >= 400) {
      expect(res.headers.get('content-type')).toBe('application/problem+json');
      expect(await journal.size()).toBe(before);
    }
  };

  it('answers arbitrary JSON values with 4xx and writes nothing', async () => {
    await fc.assert(
      fc.asyncProperty(fc.jsonValue(), (value) =>
        expectNoWriteUnlessAccepted(() =>
          call(stack.url, 'POST', '/claims', { token: stack.tokens.provider, json: value }),
        ),
      ),
      { numRuns: 60 },
    );
  });

  it('answers arbitrary bytes with 4xx and writes nothing', async () => {
    await fc.assert(
      fc.asyncProperty(fc.uint8Array({ maxLength: 2048 }), (bytes) =>
        expectNoWriteUnlessAccepted(() =>
          call(stack.url, 'POST', '/claims', { token: stack.tokens.provider, body: bytes }),
        ),
      ),
      { numRuns: 60 },
    );
  });

  it('answers a valid claim with one field replaced by anything with 2xx or 4xx, never 5xx', async () => {
    const fields = Object.keys(demoClaim);
    const lineFields = Object.keys(demoClaim.lines[0] ?? {});
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom(...fields),
        fc.constantFrom(...lineFields),
        fc.boolean(),
        fc.jsonValue(),
        fc.nat(),
        async (field, lineField, inLine, value, n) => {
          const claim: Record<string, unknown> = { ...demoClaim, claimId: `FUZZ-${n}` };
          if (inLine) claim.lines = [{ ...demoClaim.lines[0], [lineField]: value }];
          else claim[field] = value;
          await expectNoWriteUnlessAccepted(() =>
            call(stack.url, 'POST', '/claims', { token: stack.tokens.provider, json: claim }),
          );
        },
      ),
      { numRuns: 80 },
    );
  });
});
