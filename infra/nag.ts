import { type App, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks, HIPAASecurityChecks } from 'cdk-nag';
import type { IConstruct } from 'constructs';

/**
 * cdk-nag v3 runs as CDK policy-validation plugins: every synth (and so every deploy) checks
 * the app against the AWS Solutions and HIPAA Security packs, and an unacknowledged error
 * stops the synth. Acknowledgements are recorded in the cloud assembly's validation report and,
 * with writeSuppressionsToCloudFormation, in each resource's template metadata.
 */
export function nagPacks(app: App) {
  return [
    new AwsSolutionsChecks(app, { writeSuppressionsToCloudFormation: true }),
    new HIPAASecurityChecks(app, { writeSuppressionsToCloudFormation: true }),
  ];
}

export function addNagChecks(app: App): void {
  Validations.of(app).addPlugins(...nagPacks(app));
}

/**
 * Acknowledges one cdk-nag finding on a construct (and everything under it), with the reason
 * it is acceptable here. One finding per call, as cdk-nag v3 requires: `Rule[Finding]` for
 * rules that report several findings per resource (e.g. IAM5 wildcards).
 */
export function acknowledge(scope: IConstruct, id: string, reason: string): void {
  Validations.of(scope).acknowledge({ id, reason });
}
