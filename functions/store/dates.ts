/** ISO date `days` before `isoDate` (UTC calendar arithmetic). */
export function daysBefore(isoDate: string, days: number): string {
  const d = new Date(`${isoDate}T00:00:00Z`);
  d.setUTCDate(d.getUTCDate() - days);
  return d.toISOString().slice(0, 10);
}

/** How far back facts reach: duplicate, velocity and history rules look at the last year. */
export const HISTORY_DAYS = 365;
