import { beforeAll, describe, expect, it } from 'vitest';
import { MAX_BODY_BYTES } from '../../functions/http/json-body.ts';
import { demoClaim, demoProviders } from '../../functions/local/demo-seed.ts';
import { call, type Reply } from '../support/http.ts';
import { startE2eStack } from '../support/local-stack.ts';
import { type CapturedOutput, captureOutput } from '../support/security-log-capture.ts';

/**
 * PHI never reaches the logs (HIPAA minimum necessary; OWASP API3/API8). Everything the
 * process writes during representative traffic is captured: the logger's sink and raw
 * stdout/stderr/console. The traffic carries distinctive PHI values through every path that
 * logs: successes, validation errors that name the offending fields, 404s on ids that are PHI,
 * conflicts, review actions with a free-text note, and a request that fails inside the store.
 */

const MEMBER = 'MPHI7731Z';
const OTHER_MEMBER = 'MPHI4410Q';
const FIRST_NAME = 'Zebulon';
const LAST_NAME = 'Quartermaine';
const BIRTH_DATE = '1961-07-23';
const BAD_BIRTH_DATE = '1958-13-02';
const DIAGNOSES = ['Q87.410', 'R45.851'];
const BAD_DIAGNOSIS = 'T40.7X1AA';

/** Each PHI value and the spellings a leak could take (case, separators dropped). */
const PHI_PATTERNS: [string, RegExp][] = [
  ...[MEMBER, OTHER_MEMBER, FIRST_NAME, LAST_NAME].map((v): [string, RegExp] => [v, new RegExp(v, 'i')]),
  ...[BIRTH_DATE, BAD_BIRTH_DATE].map((d): [string, RegExp] => [
    d,
    new RegExp(`${d}|${d.replaceAll('-', '')}`),
  ]),
  ...[...DIAGNOSES, BAD_DIAGNOSIS].map((code): [string, RegExp] => [
    code,
    new RegExp(`${code.replace('.', '\\.?')}`, 'i'),
  ]),
];

/** The fields the logger allows (functions/http/logger.ts) plus its envelope. */
const LOG_FIELDS = [
  'level',
  'time',
  'service',
  'route',
  'method',
  'status',
  'problem',
  'durationMs',
  'requestId',
  'sub',
  'error',
  'stack',
  'message',
  'component',
  // Lambda context (Powertools Logger's names) and the embedded-metric-format members.
  'cold_start',
  'function_request_id',
  'xray_trace_id',
  '_aws',
  'endpoint',
  'outcome',
  'Requests',
  'ClientErrors',
  'ServerErrors',
  'Latency',
  'ClaimsDecided',
];

const coverage = (birthDate: string, member: Record<string, unknown> = {}) => ({
  member: { birthDate, sex: 'female', ...member },
  coverages: [
    {
      coverageId: 'COV-PHI',
      planId: 'PPO-GOLD',
      status: 'active',
      start: '2026-01-01',
      end: '2026-12-31',
      benefits: { deductibleCents: 50_000, outOfPocketMaxCents: 300_000, coinsuranceBps: 2_000 },
    },
  ],
});

const claimOn = (claimId: string, date: string, patch: Record<string, unknown> = {}) => ({
  ...demoClaim,
  claimId,
  memberId: MEMBER,
  serviceDateFrom: date,
  serviceDateTo: date,
  diagnosisCodes: DIAGNOSES,
  lines: demoClaim.lines.map((line) => ({ ...line, serviceDate: date })),
  ...patch,
});

describe('PHI in logs', () => {
  let output: CapturedOutput;
  /** Every reply of the run, to check the PHI really travelled through the service. */
  const replies: Reply[] = [];
  /** Each request, the status it should get (0: any) and the status it got. */
  const seen: [string, number, number][] = [];

  beforeAll(async () => {
    output = captureOutput();
    try {
      await driveTraffic();
    } finally {
      output.restore();
    }
  });

  /** Requests that carry PHI through every path that logs, against a stack of their own. */
  async function driveTraffic(): Promise<void> {
    const stack = await startE2eStack();
    try {
      const { provider, otherProvider, analyst } = stack.tokens;
      const send = async (
        expected: number,
        method: string,
        path: string,
        options: Parameters<typeof call>[3] = {},
      ) => {
        const res = await call(stack.url, method, path, options);
        replies.push(res);
        seen.push([`${method} ${path}`, expected, res.status]);
        return res;
      };

      // Records: demographics and coverage, then a treatment with diagnoses.
      await send(201, 'PUT', `/members/${MEMBER}/coverage`, { token: analyst, json: coverage(BIRTH_DATE) });
      await send(422, 'PUT', `/members/${MEMBER}/coverage`, {
        token: analyst,
        json: coverage(BIRTH_DATE, {
          name: `${FIRST_NAME} ${LAST_NAME}`,
          firstName: FIRST_NAME,
          lastName: LAST_NAME,
        }),
      });
      await send(422, 'PUT', `/members/${OTHER_MEMBER}/coverage`, {
        token: analyst,
        json: coverage(BAD_BIRTH_DATE),
      });
      await send(404, 'PUT', `/members/${OTHER_MEMBER}!${LAST_NAME}/coverage`, {
        token: analyst,
        json: coverage(BIRTH_DATE),
      });
      await send(201, 'POST', '/treatments', {
        token: analyst,
        json: {
          recordId: 'ENC-PHI-1',
          memberId: MEMBER,
          providerNpi: demoProviders.familyClinic.npi,
          serviceDate: '2026-03-02',
          kind: 'encounter',
          procedureCodes: ['99213', '36415', '80053'],
          diagnosisCodes: DIAGNOSES,
        },
      });
      await send(422, 'POST', '/treatments', {
        token: analyst,
        json: {
          recordId: 'ENC-PHI-2',
          memberId: MEMBER,
          diagnosisCodes: [BAD_DIAGNOSIS],
          patient: LAST_NAME,
        },
      });

      // Claims: decided, pended, invalid, conflicting, refused, unparseable, oversized.
      const decided = await send(201, 'POST', '/claims', {
        token: provider,
        json: claimOn('PHI-1', '2026-03-02'),
      });
      const pended = await send(201, 'POST', '/claims', {
        token: provider,
        json: claimOn('PHI-2', '2026-03-09'),
      });
      await send(422, 'POST', '/claims', {
        token: provider,
        json: claimOn('PHI-3', '2026-03-02', { diagnosisCodes: [BAD_DIAGNOSIS], patientName: FIRST_NAME }),
      });
      await send(409, 'POST', '/claims', {
        token: provider,
        json: claimOn('PHI-1', '2026-03-02', { diagnosisCodes: DIAGNOSES.slice(0, 1) }),
      });
      await send(403, 'POST', '/claims', {
        token: otherProvider,
        json: claimOn('PHI-4', '2026-03-02'),
      });
      await send(400, 'POST', '/claims', {
        token: provider,
        body: `{"memberId":"${MEMBER}","diagnosisCodes":["${DIAGNOSES[0]}"],"name":"${LAST_NAME}"`,
      });
      await send(415, 'POST', '/claims', {
        token: provider,
        body: JSON.stringify(claimOn('PHI-5', '2026-03-02')),
        contentType: 'text/plain',
      });
      await send(413, 'POST', '/claims', {
        token: provider,
        body: JSON.stringify({
          ...claimOn('PHI-6', '2026-03-02'),
          padding: `${LAST_NAME} `.repeat(MAX_BODY_BYTES / 8),
        }),
      });

      // Reads, including 404s whose ids are PHI and a query that filters by member.
      const decidedId = String(decided.body.id);
      const pendedId = String(pended.body.id);
      await send(200, 'GET', `/claims/${decidedId}`, { token: provider });
      await send(200, 'GET', `/claims/${decidedId}`, { token: analyst });
      await send(404, 'GET', `/claims/${decidedId}`, { token: otherProvider });
      await send(404, 'GET', `/claims/${MEMBER}`, { token: analyst });
      await send(404, 'GET', `/members/${MEMBER}/${BIRTH_DATE}`, { token: analyst });
      await send(200, 'GET', `/reviews?member=${MEMBER}`, { token: analyst });
      await send(400, 'GET', `/reviews?member=${MEMBER}%21&patient=${LAST_NAME}`, { token: analyst });
      await send(401, 'GET', `/reviews?member=${MEMBER}`);
      await send(401, 'GET', `/claims/${decidedId}`, { token: `${MEMBER}.${BIRTH_DATE}.${LAST_NAME}` });
      await send(403, 'GET', `/reviews?member=${MEMBER}`, { token: provider });

      // Review actions, with a free-text note full of PHI.
      await send(200, 'GET', `/reviews/${pendedId}`, { token: analyst });
      await send(428, 'POST', `/reviews/${pendedId}/assign`, { token: analyst, json: {} });
      await send(200, 'POST', `/reviews/${pendedId}/assign`, {
        token: analyst,
        json: { note: `Called ${FIRST_NAME} ${LAST_NAME}, born ${BIRTH_DATE}` },
        headers: { 'if-match': '"1"' },
      });
      await send(412, 'POST', `/reviews/${pendedId}/decision`, {
        token: analyst,
        json: { outcome: 'deny', reason: '50' },
        headers: { 'if-match': '"1"' },
      });
      await send(422, 'POST', `/reviews/${pendedId}/decision`, {
        token: analyst,
        json: { outcome: 'deny', reason: `${DIAGNOSES[0]} ${LAST_NAME}` },
        headers: { 'if-match': '"2"' },
      });
      await send(200, 'POST', `/reviews/${pendedId}/decision`, {
        token: analyst,
        json: { outcome: 'deny', reason: '50', note: `${LAST_NAME} ${BIRTH_DATE}: ${DIAGNOSES.join(', ')}` },
        headers: { 'if-match': '"2"' },
      });
      const history = await send(200, 'GET', `/claims/${pendedId}/history`, { token: analyst });
      const index = (history.body.revisions as { index: number }[] | undefined)?.[0]?.index ?? 0;
      await send(200, 'GET', `/journal/entries/${index}`, { token: analyst });
      // Searches by member: the member id travels in the query string.
      await send(0, 'GET', `/journal/search?member=${MEMBER}`, { token: analyst });
      await send(0, 'GET', `/journal/search?member=${MEMBER}&format=csv`, { token: analyst });

      // A schema-valid coverage too large for the store: whatever it answers, it is logged.
      const huge = coverage(BIRTH_DATE);
      const code = (prefix: string, i: number, j: number) =>
        `${prefix}${String(i).padStart(2, '0')}${String(j).padStart(5, '0')}`;
      huge.coverages = Array.from({ length: 20 }, (_, i) => ({
        ...coverage(BIRTH_DATE).coverages[0],
        coverageId: `COV-PHI-${i}`,
        excludedProcedures: Array.from({ length: 1000 }, (_, j) => code('X', i, j)),
        priorAuthRequired: Array.from({ length: 1000 }, (_, j) => code('P', i, j)),
      })) as typeof huge.coverages;
      await send(0, 'PUT', `/members/${MEMBER}/coverage`, { token: analyst, json: huge });

      await stack.integrator.caughtUp();
    } finally {
      await stack.stop();
    }
  }

  it('ran the traffic it meant to (the PHI went through the service)', () => {
    for (const [request, expected, status] of seen) {
      if (expected !== 0) expect(status, request).toBe(expected);
    }
    const responses = JSON.stringify(replies.map((r) => r.body));
    for (const value of [MEMBER, BIRTH_DATE, ...DIAGNOSES]) expect(responses).toContain(value);
  });

  it('captured the access log of every request that reached a handler', () => {
    const logged = output.logLines.map((line) => JSON.parse(line) as Record<string, unknown>);
    const access = logged.filter((entry) => typeof entry.route === 'string');
    // The gateway's own refusals (401 before the handler, unknown routes) are not handler logs.
    expect(access.length).toBeGreaterThanOrEqual(seen.length - 6);
    for (const route of [
      '/members/{memberId}/coverage',
      '/treatments',
      '/claims',
      '/claims/{id}',
      '/reviews',
      '/reviews/{claimId}',
      '/reviews/{claimId}/assign',
      '/reviews/{claimId}/decision',
      '/claims/{id}/history',
      '/journal/entries/{index}',
    ]) {
      expect(
        access.some((entry) => entry.route === route),
        route,
      ).toBe(true);
    }
    const statuses = new Set(access.map((entry) => entry.status));
    for (const status of [200, 201, 400, 403, 404, 409, 412, 413, 415, 422, 428]) {
      expect(statuses.has(status), String(status)).toBe(true);
    }
  });

  it('writes only allow-listed fields, as one JSON object per line', () => {
    expect(output.logLines.length).toBeGreaterThan(0);
    for (const line of output.logLines) {
      const entry = JSON.parse(line) as Record<string, unknown>;
      for (const key of Object.keys(entry)) expect(LOG_FIELDS, line).toContain(key);
    }
  });

  it('logs no member id, name, birth date or diagnosis code, anywhere in the output', () => {
    const lines = output.text().split('\n');
    const leaks = PHI_PATTERNS.flatMap(([value, pattern]) =>
      lines.filter((line) => pattern.test(line)).map((line) => `${value}: ${line.slice(0, 300)}`),
    );
    expect(leaks).toEqual([]);
  });

  it('logs errors by name and stack frames only, never by message', () => {
    for (const line of output.logLines) {
      const entry = JSON.parse(line) as { stack?: string };
      if (entry.stack === undefined) continue;
      for (const frame of entry.stack.split('\n')) expect(frame, line).toMatch(/^\s+at /);
    }
  });
});
