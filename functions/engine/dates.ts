/**
 * Calendar arithmetic on ISO dates (YYYY-MM-DD) in UTC. Pure: no clock is read; every date
 * comes from the claim or its facts.
 */

const DAYS_IN_MONTH = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];
const isLeap = (y: number) => (y % 4 === 0 && y % 100 !== 0) || y % 400 === 0;

/** The value of the ASCII digit at `i`, or -1. */
function digit(s: string, i: number): number {
  const c = s.charCodeAt(i) - 48;
  return c >= 0 && c <= 9 ? c : -1;
}

/** The number `s` holds at [from, to) if every character there is a digit, else -1. */
function digits(s: string, from: number, to: number): number {
  let n = 0;
  for (let i = from; i < to; i++) {
    const d = digit(s, i);
    if (d < 0) return -1;
    n = n * 10 + d;
  }
  return n;
}

/**
 * Days since 1970-01-01 for a valid ISO date; throws RangeError otherwise. Plain integer
 * arithmetic (the civil-from-days algorithm), no Date objects and no regular expression: it
 * runs inside rule loops.
 */
export function epochDay(date: string): number {
  const year = date.length === 10 && date[4] === '-' && date[7] === '-' ? digits(date, 0, 4) : -1;
  const month = year < 0 ? -1 : digits(date, 5, 7);
  const day = month < 0 ? -1 : digits(date, 8, 10);
  if (day < 0) throw new RangeError(`'${date}' is not an ISO date (YYYY-MM-DD)`);
  const monthDays = month === 2 && isLeap(year) ? 29 : DAYS_IN_MONTH[month - 1];
  if (monthDays === undefined || day < 1 || day > monthDays) {
    throw new RangeError(`'${date}' is not a calendar date`);
  }
  const y = month <= 2 ? year - 1 : year;
  const era = Math.floor(y / 400);
  const yoe = y - era * 400;
  const doy = Math.floor((153 * (month + (month > 2 ? -3 : 9)) + 2) / 5) + day - 1;
  const doe = yoe * 365 + Math.floor(yoe / 4) - Math.floor(yoe / 100) + doy;
  return era * 146_097 + doe - 719_468;
}

/** Signed number of days from `from` to `to` (positive when `to` is later). */
export function daysBetween(from: string, to: string): number {
  return epochDay(to) - epochDay(from);
}

/** Completed years of age on `on` for someone born on `birthDate`; -1 if born after `on`. */
export function ageOn(birthDate: string, on: string): number {
  epochDay(birthDate);
  epochDay(on);
  const by = Number(birthDate.slice(0, 4));
  const oy = Number(on.slice(0, 4));
  // Comparing MM-DD as strings handles birthdays not yet reached this year (and 29 Feb).
  const age = oy - by - (on.slice(5) < birthDate.slice(5) ? 1 : 0);
  return age < 0 ? -1 : age;
}

/**
 * The plan year a date of service falls in, labelled as the Accumulators records are:
 * "2026" for calendar plan years, "2026-07" for a plan year starting in July 2026.
 */
export function planYearOf(date: string, startMonth: number): string {
  // Callers pass dates the claim schema has already validated.
  const year = Number(date.slice(0, 4));
  const month = Number(date.slice(5, 7));
  const startYear = month >= startMonth ? year : year - 1;
  return startMonth === 1 ? String(startYear) : `${startYear}-${String(startMonth).padStart(2, '0')}`;
}

/** True when `date` lies in the inclusive window; an absent bound is open. */
export function inWindow(date: string, from: string | undefined, to: string | undefined): boolean {
  return (from === undefined || date >= from) && (to === undefined || date <= to);
}
