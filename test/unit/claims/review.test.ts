import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import {
  CARC_PATTERN,
  reviewDecisionSchema,
  reviewETag,
  versionsFromIfMatch,
} from '../../../functions/claims/review.ts';
import { MAX_REVIEW_LIMIT, parseReviewQuery } from '../../../functions/claims/review-queue.ts';

// The shared folder is a sibling of the repository (CI clones it beside the repo).
const CARC_LIST = fileURLToPath(
  new URL('../../../../shared/data/codes/carc-codes.from-bfd-fsh.csv', import.meta.url),
);

describe('If-Match on a review', () => {
  it('names the versions of strong entity tags, and nothing for weak tags, * or junk', () => {
    expect(versionsFromIfMatch(reviewETag(3))).toEqual([3]);
    expect(versionsFromIfMatch('"2", "3"')).toEqual([2, 3]);
    expect(versionsFromIfMatch(' "7" ')).toEqual([7]);
    for (const header of ['W/"3"', '*', '3', '"3', '"-1"', '"03"', '"1e3"', '"9999999999999999"']) {
      expect(versionsFromIfMatch(header), header).toEqual([]);
    }
  });

  it('tells an absent header (428) from one that matches nothing (412)', () => {
    expect(versionsFromIfMatch(undefined)).toBeNull();
    expect(versionsFromIfMatch('  ')).toBeNull();
  });
});

describe('a review decision body', () => {
  it('accepts every published Claim Adjustment Reason Code as a denial reason', () => {
    expect(existsSync(CARC_LIST)).toBe(true);
    const codes = readFileSync(CARC_LIST, 'utf8')
      .split('\n')
      .slice(1)
      .map((row) => row.split(',')[0] ?? '')
      .filter(Boolean);
    expect(codes.length).toBeGreaterThan(300);
    for (const code of codes) {
      expect(CARC_PATTERN.test(code), code).toBe(true);
      expect(reviewDecisionSchema.safeParse({ outcome: 'deny', reason: code }).success, code).toBe(true);
    }
  });

  it('needs a CARC for a denial, refuses unknown fields and bounds the note', () => {
    const bad = [
      { outcome: 'deny' },
      { outcome: 'deny', reason: 'fraud' },
      { outcome: 'deny', reason: '0' },
      { outcome: 'deny', reason: '1234' },
      { outcome: 'approve', reason: 'has spaces' },
      { outcome: 'approve', status: 'approved' },
      { outcome: 'approve', note: '' },
      { outcome: 'approve', note: 'x'.repeat(2001) },
      { outcome: 'pay' },
      {},
    ];
    for (const body of bad)
      expect(reviewDecisionSchema.safeParse(body).success, JSON.stringify(body)).toBe(false);
    const good = [
      { outcome: 'approve' },
      { outcome: 'approve', reason: 'records-received', note: 'Chart received by fax.' },
      { outcome: 'deny', reason: 'B7' },
      { outcome: 'escalate' },
    ];
    for (const body of good)
      expect(reviewDecisionSchema.safeParse(body).success, JSON.stringify(body)).toBe(true);
  });
});

describe('review queue parameters', () => {
  it('defaults to open reviews, 25 a page', () => {
    expect(parseReviewQuery(null)).toEqual({ query: { status: 'open', limit: 25 } });
  });

  it('reads every filter', () => {
    const parsed = parseReviewQuery({
      status: 'closed',
      minScore: '50',
      signal: 'near-duplicate',
      provider: '1234567893',
      member: 'M1001',
      from: '2026-03-01',
      to: '2026-03-31',
      limit: String(MAX_REVIEW_LIMIT),
      cursor: 'abc',
    });
    expect(parsed).toEqual({
      query: {
        status: 'closed',
        minScore: 50,
        signal: 'near-duplicate',
        provider: '1234567893',
        member: 'M1001',
        from: '2026-03-01',
        to: '2026-03-31',
        limit: MAX_REVIEW_LIMIT,
        cursor: 'abc',
      },
    });
  });

  it('names each bad parameter, including unknown ones, and never clamps the limit', () => {
    const issues = (parameters: Record<string, string>) => {
      const parsed = parseReviewQuery(parameters);
      return 'issues' in parsed ? parsed.issues.map((i) => i.path) : [];
    };
    expect(issues({ limit: String(MAX_REVIEW_LIMIT + 1) })).toEqual(['limit']);
    expect(issues({ limit: '0' })).toEqual(['limit']);
    expect(issues({ limit: '2.5' })).toEqual(['limit']);
    expect(issues({ minScore: '-3' })).toEqual(['minScore']);
    expect(issues({ status: 'pended' })).toEqual(['status']);
    expect(issues({ provider: '12345' })).toEqual(['provider']);
    expect(issues({ from: '2026-04-01', to: '2026-03-01' })).toEqual(['to']);
    expect(issues({ sortBy: 'age' })).toEqual(['sortBy']);
  });
});
