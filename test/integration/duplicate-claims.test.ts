// A payer's most common overpayment: the same service paid twice. The rules deny a duplicate
// (coding.duplicate, CARC 18) from the member's prior claim lines, so those lines must include
// a claim decided a moment ago. The by-member index cannot promise that (a GSI is eventually
// consistent: a duplicate resubmitted at once, or the loser of a race being decided again,
// could miss the winner). Here the index is deleted first, so these tests pass only if the
// decision path reads the member's claims from the table itself, strongly consistent, and if
// concurrent claims for one member are arbitrated even when they touch no accumulator.
import { fileURLToPath } from 'node:url';
import { DescribeTableCommand, UpdateTableCommand } from '@aws-sdk/client-dynamodb';
import { beforeAll, describe, expect, it } from 'vitest';
import type { ClaimSubmission } from '../../functions/claims/claim.schema.ts';
import type { RuleSetPort } from '../../functions/claims/decision.ts';
import type { Identity } from '../../functions/claims/identity.ts';
import { keyedSerializer } from '../../functions/claims/keyed-serializer.ts';
import { memberCoverageSchema } from '../../functions/claims/records.schema.ts';
import { addTreatment, putCoverage } from '../../functions/claims/records.ts';
import { submitClaim } from '../../functions/claims/submit-claim.ts';
import { loadRuleSet } from '../../functions/engine/loader.ts';
import { demoProviders } from '../../functions/local/demo-seed.ts';
import { ClaimRepository } from '../../functions/store/claims.repository.ts';
import { createLocalClient } from '../../functions/store/dynamo-client.ts';
import { JournalRepository } from '../../functions/store/journal.repository.ts';
import { RecordRepository } from '../../functions/store/records.repository.ts';
import { oneLineClaim } from '../support/claims.ts';
import { ppoCoverage } from '../support/coverage.ts';
import { freshTables } from '../support/tables.ts';

const NPI = demoProviders.familyClinic.npi;
const provider: Identity = { sub: 'riverside-billing', roles: ['provider'], npis: [NPI] };
const analyst: Identity = { sub: 'analyst-ana', roles: ['analyst'], npis: [] };
const clock = () => new Date().toISOString();

/** One chest X-ray (priced by the default fee schedule, no copay, no edits) on `date`. */
const xray = (claimId: string, memberId: string, date: string): ClaimSubmission =>
  oneLineClaim({
    claimId,
    memberId,
    npi: NPI,
    date,
    procedureCode: '71046',
    diagnosisCode: 'R05.9',
    chargeCents: 20_000,
  });

describe('duplicate claims, with the by-member index gone (DynamoDB Local)', () => {
  let claims: ClaimRepository;
  let records: RecordRepository;
  let ruleSet: RuleSetPort;

  beforeAll(async () => {
    const { endpoint, names, doc } = await freshTables();
    const raw = createLocalClient(endpoint);
    await raw.send(
      new UpdateTableCommand({
        TableName: names.claims,
        GlobalSecondaryIndexUpdates: [{ Delete: { IndexName: 'by-member' } }],
      }),
    );
    // Wait until the index is gone: DynamoDB Local refuses writes while it is being deleted.
    for (;;) {
      const { Table } = await raw.send(new DescribeTableCommand({ TableName: names.claims }));
      const indexes = Table?.GlobalSecondaryIndexes ?? [];
      if (Table?.TableStatus === 'ACTIVE' && !indexes.some((i) => i.IndexName === 'by-member')) break;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    raw.destroy();
    const journal = new JournalRepository(doc, names.journal);
    records = new RecordRepository(doc, names.records, journal);
    claims = new ClaimRepository(doc, { claims: names.claims, records: names.records }, records, journal);
    ruleSet = await loadRuleSet(fileURLToPath(new URL('../../rules', import.meta.url)));
  });

  async function member(memberId: string, date: string): Promise<void> {
    const coverage = memberCoverageSchema.parse(ppoCoverage(`COV-${memberId}`));
    await putCoverage(memberId, coverage, analyst, { records, clock });
    // A clinical record behind the service, or documentation.supported-by-record pends it.
    await addTreatment(
      {
        recordId: `TR-${memberId}`,
        memberId,
        providerNpi: NPI,
        serviceDate: date,
        kind: 'procedure',
        procedureCodes: ['71046'],
        diagnosisCodes: ['R05.9'],
      },
      analyst,
      { records, clock },
    );
  }

  const carcsOf = (claim: { decision: { lines: { adjustments: { carc: string }[] }[] } }) =>
    claim.decision.lines.flatMap((line) => line.adjustments.map((a) => a.carc));

  it('denies a duplicate sent right after the first claim (CARC 18)', async () => {
    await member('M-DUP-1', '2026-05-04');
    const serialize = keyedSerializer();
    const submit = (claimId: string) =>
      submitClaim(xray(claimId, 'M-DUP-1', '2026-05-04'), provider, { claims, ruleSet, clock, serialize });
    const first = await submit('DUP-1A');
    expect(first.claim.decision.lines[0]?.status).toBe('approved');
    const again = await submit('DUP-1B');
    expect(again.claim.decision.lines[0]?.status).toBe('denied');
    expect(carcsOf(again.claim)).toContain('18');
  });

  it('pends one of two identical claims sent at once and denies the other, though neither moves an accumulator', async () => {
    // No clinical record behind the service: documentation.supported-by-record pends the line,
    // so neither claim writes an accumulator, and only the member's claims version arbitrates.
    const coverage = memberCoverageSchema.parse(ppoCoverage('COV-M-DUP-3'));
    await putCoverage('M-DUP-3', coverage, analyst, { records, clock });
    const results = await Promise.all(
      ['DUP-3A', 'DUP-3B'].map((claimId) =>
        submitClaim(xray(claimId, 'M-DUP-3', '2026-05-06'), provider, {
          claims,
          ruleSet,
          clock,
          serialize: keyedSerializer(),
        }).then((result) => ({ result })),
      ),
    );
    const statuses = results.map(({ result }) => result.claim.decision.lines[0]?.status).sort();
    expect(statuses).toEqual(['denied', 'pended']);
    const denied = results.find(({ result }) => result.claim.decision.lines[0]?.status === 'denied');
    expect(carcsOf(denied!.result.claim)).toContain('18');
  });

  it('pays exactly one of 6 identical claims sent at once to 3 instances', async () => {
    await member('M-DUP-2', '2026-05-05');
    const instances = [keyedSerializer(), keyedSerializer(), keyedSerializer()];
    const results = await Promise.all(
      Array.from({ length: 6 }, (_, i) =>
        submitClaim(xray(`DUP-2${String.fromCharCode(65 + i)}`, 'M-DUP-2', '2026-05-05'), provider, {
          claims,
          ruleSet,
          clock,
          serialize: instances[i % instances.length]!,
        }),
      ),
    );
    const paid = results.filter((r) => r.claim.decision.lines.some((line) => line.status === 'approved'));
    expect(paid).toHaveLength(1);
    for (const result of results.filter((r) => !paid.includes(r))) {
      expect(carcsOf(result.claim), result.claim.submission.claimId).toContain('18');
    }
  });
});
