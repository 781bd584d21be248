import { describe, expect, it } from 'vitest';
import { ageOn, daysBetween, planYearOf } from '../../../functions/engine/dates.ts';
import { formatIssue, RuleSetError } from '../../../functions/engine/errors.ts';
import { canonicalText, ruleSetHash } from '../../../functions/engine/hash.ts';
import { npiCheckDigitValid } from '../../../functions/engine/npi.ts';

describe('NPI check digit (Luhn over 80840 + the first nine digits)', () => {
  it.each([
    ['1234567893', true],
    ['1245319599', true],
    ['1003005315', true],
    ['1234567890', false],
    ['1245319598', false],
    ['123456789', false],
    ['12345678AB', false],
  ])('%s → %s', (npi, valid) => {
    expect(npiCheckDigitValid(npi)).toBe(valid);
  });
});

describe('dates', () => {
  it('counts signed days between dates, across leap days', () => {
    expect(daysBetween('2024-02-28', '2024-03-01')).toBe(2);
    expect(daysBetween('2026-05-04', '2026-04-27')).toBe(-7);
    expect(() => daysBetween('2026-02-30', '2026-03-01')).toThrow(/not a calendar date/);
  });

  it.each([
    ['2026-1-01', 'not an ISO date'],
    ['2026/01/01', 'not an ISO date'],
    ['2O26-01-01', 'not an ISO date'],
    ['2026-0x-01', 'not an ISO date'],
    ['2026-01-1 ', 'not an ISO date'],
    ['2026-01-011', 'not an ISO date'],
    ['2026-13-01', 'not a calendar date'],
    ['2026-00-10', 'not a calendar date'],
    ['2026-04-31', 'not a calendar date'],
    ['2025-02-29', 'not a calendar date'],
    ['2026-01-00', 'not a calendar date'],
  ])('rejects %s as %s', (date, message) => {
    expect(() => daysBetween(date, '2026-01-01')).toThrow(RangeError);
    expect(() => daysBetween('2026-01-01', date)).toThrow(message);
  });

  it('counts days across centuries and eras', () => {
    expect(daysBetween('1970-01-01', '2000-03-01')).toBe(11_017);
    expect(daysBetween('1900-02-28', '1900-03-01')).toBe(1);
    expect(daysBetween('2000-02-28', '2000-03-01')).toBe(2);
    expect(daysBetween('0000-03-01', '1970-01-01')).toBe(719_468);
  });

  it('computes completed years of age', () => {
    expect(ageOn('1980-03-15', '2026-03-14')).toBe(45);
    expect(ageOn('1980-03-15', '2026-03-15')).toBe(46);
    expect(ageOn('2024-02-29', '2025-02-28')).toBe(0);
    expect(ageOn('2026-06-01', '2026-05-04')).toBe(-1);
  });

  it('labels plan years the way accumulators are stored', () => {
    expect(planYearOf('2026-05-04', 1)).toBe('2026');
    expect(planYearOf('2026-05-04', 7)).toBe('2025-07');
    expect(planYearOf('2026-07-01', 7)).toBe('2026-07');
  });
});

describe('hash', () => {
  it('canonicalises line endings and the byte-order mark only', () => {
    expect(canonicalText('\uFEFFa\r\nb\rc\n')).toBe('a\nb\nc\n');
    expect(canonicalText('a \n')).toBe('a \n');
  });

  it('keeps file boundaries unambiguous', () => {
    const a = ruleSetHash([
      { path: 'x', content: 'ab' },
      { path: 'y', content: 'c' },
    ]);
    const b = ruleSetHash([
      { path: 'x', content: 'a' },
      { path: 'y', content: 'bc' },
    ]);
    expect(a).not.toBe(b);
  });
});

describe('RuleSetError', () => {
  it('lists every issue as file:line:column: message', () => {
    const e = new RuleSetError([
      { file: 'a.yaml', line: 3, column: 7, message: 'bad' },
      { file: 'b.csv', line: 1, column: 1, message: 'worse' },
    ]);
    expect(e.name).toBe('RuleSetError');
    expect(e.message).toBe('rule set has 2 problems:\na.yaml:3:7: bad\nb.csv:1:1: worse');
    expect(formatIssue(e.issues[0]!)).toBe('a.yaml:3:7: bad');
  });
});
