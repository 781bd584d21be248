/**
 * Calendar arithmetic on ISO dates (YYYY-MM-DD) in UTC. Pure: no clock is read; every date
 * comes from the claim or its facts.
 */

const DAY_MS = 86_400_000;
const ISO_DATE = /^(\d{4})-(\d{2})-(\d{2})$/;

/** Days since 1970-01-01 for a valid ISO date; throws RangeError otherwise. */
export function epochDay(date: string): number {
  const m = ISO_DATE.exec(date);
  if (!m) throw new RangeError(`'${date}' is not an ISO date (YYYY-MM-DD)`);
  const year = Number(m[1]);
  const month = Number(m[2]);
  const day = Number(m[3]);
  // Date.UTC reads years 0-99 as 1900-1999; setUTCFullYear does not.
  const d = new Date(Date.UTC(2000, month - 1, day));
  d.setUTCFullYear(year, month - 1, day);
  const ms = d.getTime();
  // Rolling over (2026-02-30 becomes March) shows the date was not a calendar date.
  if (d.getUTCMonth() !== month - 1 || d.getUTCDate() !== day) {
    throw new RangeError(`'${date}' is not a calendar date`);
  }
  return ms / DAY_MS;
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
  epochDay(date);
  const year = Number(date.slice(0, 4));
  const month = Number(date.slice(5, 7));
  const startYear = month >= startMonth ? year : year - 1;
  return startMonth === 1 ? String(startYear) : `${startYear}-${String(startMonth).padStart(2, '0')}`;
}

/** True when `date` lies in the inclusive window; an absent bound is open. */
export function inWindow(date: string, from: string | undefined, to: string | undefined): boolean {
  return (from === undefined || date >= from) && (to === undefined || date <= to);
}
