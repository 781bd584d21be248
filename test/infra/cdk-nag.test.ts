import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Validations } from 'aws-cdk-lib';
import { Annotations, Match } from 'aws-cdk-lib/assertions';
import { Queue } from 'aws-cdk-lib/aws-sqs';
import type { IConstruct } from 'constructs';
import { beforeAll, describe, expect, it } from 'vitest';
import { nagPacks } from '../../infra/nag.ts';
import { logicalId, type Synthesized, synthesizeWithoutBundling } from './synth.ts';

/** Every acknowledgement recorded in the construct tree: where, which finding, and why. */
function acknowledgements(root: IConstruct): { path: string; id: string; reason: string }[] {
  return root.node.findAll().flatMap((construct) =>
    construct.node.metadata
      .filter((entry) => entry.type === Validations.ACKNOWLEDGED_RULES_METADATA_KEY)
      .flatMap((entry) =>
        Object.entries(entry.data as Record<string, string>).map(([id, reason]) => ({
          path: construct.node.path,
          id: id.replace(/^annotation::/i, ''),
          reason,
        })),
      ),
  );
}

describe.each(['dev', 'prod'])('cdk-nag (AWS Solutions, HIPAA Security) on the %s stage', (stage) => {
  let synth: Synthesized;
  beforeAll(() => {
    // Throws if any error-level finding is unacknowledged: the packs run inside app.synth().
    synth = synthesizeWithoutBundling(stage);
  });

  it('reports no unacknowledged finding, error or warning, in the validation report', () => {
    const report = JSON.parse(
      readFileSync(join(synth.assemblyDirectory, 'validation-report.json'), 'utf8'),
    ) as {
      pluginReports: unknown[];
    };
    expect(report.pluginReports).toEqual([]);
  });

  it('finds nothing unacknowledged when the packs are run directly over the synthesized tree', () => {
    for (const pack of nagPacks(synth.app)) {
      const { violations } = pack.validateScope(synth.app);
      expect(
        violations.map(
          (v) => `${v.severity} ${v.ruleName}: ${v.violatingResources.map((r) => r.constructPath)}`,
        ),
        pack.readPackName,
      ).toEqual([]);
    }
  });

  it('leaves no CDK warning or error annotation either', () => {
    for (const stack of [synth.stateful, synth.stateless]) {
      const annotations = Annotations.fromStack(stack);
      const found = [
        ...annotations.findWarning('*', Match.anyValue()),
        ...annotations.findError('*', Match.anyValue()),
      ].map((m) => `${m.id}: ${JSON.stringify(m.entry.data)}`);
      expect(found, stack.stackName).toEqual([]);
    }
  });

  it('gives every acknowledgement a written reason, also kept in the template metadata', () => {
    const acks = acknowledgements(synth.app);
    expect(acks.length).toBeGreaterThan(0);
    for (const ack of acks) expect(ack.reason.length, `${ack.path} ${ack.id}`).toBeGreaterThan(40);
    const integrator = synth.statelessTemplate.toJSON().Resources[logicalId(synth.stateless.integrator)];
    expect(integrator.Metadata.cdk_nag.rules_to_suppress).toEqual(
      expect.arrayContaining([expect.objectContaining({ id: 'HIPAA.Security-LambdaInsideVPC' })]),
    );
  });
});

describe('cdk-nag is wired into the app', () => {
  it('refuses to synthesize a resource with an unacknowledged finding', () => {
    expect(() =>
      synthesizeWithoutBundling('dev', {}, ({ stateless }) => {
        new Queue(stateless, 'Unreviewed');
      }),
    ).toThrow(/AwsSolutions-SQS3[\s\S]*Unreviewed|Unreviewed[\s\S]*AwsSolutions-SQS3/);
  });
});
