import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';

/**
 * Derives the default rule set's MUE and LEIE tables from the shared reference data
 * (../shared/data), which is never edited in place. The outputs are CSV in the official CMS
 * and OIG column layouts, each headed by comments saying where it came from, so an insurer
 * can drop in the real quarterly files without changing a rule.
 *
 * Run: npx tsx functions/cli/rules-derive-tables.ts [sharedDataDir] [rulesDir]
 */

const MUE_SOURCE = 'mue/medicare-ncci-2026q2-practitioner-mue-dos-only.hospital-bill-checker-derived.json';
const LEIE_SOURCE = 'leie/leie-npi-index.json';

const csvCell = (s: string) => (/[",\n]/.test(s) ? `"${s.replaceAll('"', '""')}"` : s);

export async function deriveReferenceTables(
  sharedDataDir: string,
  rulesDir: string,
): Promise<{ mue: number; leie: number }> {
  const mue = JSON.parse(await readFile(join(sharedDataDir, MUE_SOURCE), 'utf8')) as Record<
    string,
    { maxUnits: number; adjudicationType: string }
  >;
  const mueLines = [
    '# Medically Unlikely Edits, Medicare practitioner services, 2026 Q2: every code with MUE',
    '# adjudication indicator 3 (per date of service). Derived mechanically from',
    `# ../shared/data/${MUE_SOURCE}`,
    '# (a third-party JSON conversion of the CMS table; the CMS rationale column is not in it).',
    '# Regenerate with: npx tsx functions/cli/rules-derive-tables.ts',
    'HCPCS/CPT Code,Practitioner Services MUE Values,MUE Adjudication Indicator',
  ];
  const codes = Object.keys(mue).sort();
  for (const code of codes) {
    const row = mue[code]!;
    if (row.adjudicationType !== 'date_of_service') continue;
    mueLines.push(`${code},${row.maxUnits},3 Date of Service Edit`);
  }
  await writeFile(join(rulesDir, 'tables/mue-practitioner-2026q2.csv'), `${mueLines.join('\n')}\n`);

  const leie = JSON.parse(await readFile(join(sharedDataDir, LEIE_SOURCE), 'utf8')) as Record<
    string,
    { name: string; state: string; spec: string; reason: string; date: string }
  >;
  const leieLines = [
    '# HHS-OIG List of Excluded Individuals/Entities (January 2026), the entries that carry an NPI.',
    `# Derived mechanically from ../shared/data/${LEIE_SOURCE} (a third-party projection of`,
    '# UPDATED.csv). That source gives only the month of exclusion, so EXCLDATE is the first day',
    '# of that month. Regenerate with: npx tsx functions/cli/rules-derive-tables.ts',
    'NPI,EXCLDATE,REINDATE,NAME,SPECIALTY,STATE,REASON',
  ];
  for (const npi of Object.keys(leie).sort()) {
    const e = leie[npi]!;
    const m = /^(\d{2})\/(\d{4})$/.exec(e.date);
    if (!m) continue;
    leieLines.push(
      [npi, `${m[2]}${m[1]}01`, '', e.name, e.spec, e.state, e.reason].map((s) => csvCell(s ?? '')).join(','),
    );
  }
  await writeFile(join(rulesDir, 'tables/leie-excluded-npis.csv'), `${leieLines.join('\n')}\n`);
  return { mue: mueLines.length - 6, leie: leieLines.length - 5 };
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const [shared = '../shared/data', rules = 'rules'] = process.argv.slice(2);
  const counts = await deriveReferenceTables(shared, rules);
  process.stdout.write(`MUE rows: ${counts.mue}, LEIE rows: ${counts.leie}\n`);
}
