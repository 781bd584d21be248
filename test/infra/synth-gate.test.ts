import { execFile } from 'node:child_process';
import { cp, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { App } from 'aws-cdk-lib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { synthesize } from '../../infra/app.ts';

const run = promisify(execFile);
const root = join(import.meta.dirname, '..', '..');

/** A copy of the default rule set with one edit applied to one file. */
async function editedRules(work: string, name: string, file: string, edit: (text: string) => string) {
  const dir = join(work, name);
  await cp(join(root, 'rules'), dir, { recursive: true });
  await writeFile(join(dir, file), edit(await readFile(join(dir, file), 'utf8')));
  return dir;
}

describe('cdk synth refuses a rule set that fails check or test', () => {
  let work: string;
  let typeError: string;
  let failingTest: string;
  beforeAll(async () => {
    work = await mkdtemp(join(tmpdir(), 'claimledger-gate-'));
    // A CEL type error: comparing a string field with a number.
    typeError = await editedRules(work, 'type-error', 'plan.yaml', (t) =>
      t.replace("claim.priorAuthorizationNumber == ''", 'claim.priorAuthorizationNumber == 0'),
    );
    // Valid rules, but a rule test no longer holds: the plan no longer excludes anything.
    failingTest = await editedRules(work, 'failing-test', 'plan.yaml', (t) =>
      t.replace('line.procedureCode in coverage.excludedProcedures', 'false'),
    );
  });
  afterAll(async () => {
    await rm(work, { recursive: true, force: true });
  });

  const synthWith = async (rulesDir: string) => {
    let text = '';
    const code = await synthesize(new App({ context: { stage: 'test', rulesDir } }), {
      write: (s: string) => (text += s),
    });
    return { code, text };
  };

  it('on a type error, naming the file and line', async () => {
    const { code, text } = await synthWith(typeError);
    expect(code).toBe(1);
    expect(text).toMatch(/plan\.yaml:15:\d+/);
    expect(text).toContain('cdk synth refused');
  });

  it('on a failing rule test', async () => {
    const { code, text } = await synthWith(failingTest);
    expect(code).toBe(1);
    expect(text).toMatch(/✗ .*plan\.yaml:\d+/);
    expect(text).toContain('cdk synth refused');
  });

  it('through the cdk CLI itself, with a non-zero exit', async () => {
    const failure = await run('npx', ['cdk', 'synth', '--quiet', '-c', `rulesDir=${typeError}`], {
      cwd: root,
    }).then(
      () => null,
      (error: { code: number; stderr: string }) => error,
    );
    expect(failure?.code).not.toBe(0);
    expect(failure?.stderr).toContain('cdk synth refused');
  }, 120_000);
});
