import { App, type CfnResource, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import type { IConstruct } from 'constructs';
import { buildApp } from '../../infra/app.ts';
import type { StatefulStack } from '../../infra/stateful-stack.ts';
import type { StatelessStack } from '../../infra/stateless-stack.ts';

export interface Synthesized {
  app: App;
  stateful: StatefulStack;
  stateless: StatelessStack;
  statefulTemplate: Template;
  statelessTemplate: Template;
  /** The cloud assembly's directory (templates, validation-report.json). */
  assemblyDirectory: string;
}

/**
 * The app exactly as `cdk synth` builds it (cdk-nag packs included, so a finding nobody
 * acknowledged makes this throw), except that functions are not bundled:
 * `aws:cdk:bundling-stacks: []` leaves asset hashes as placeholders and changes nothing else in
 * the templates. stacks.test.ts keeps one fully bundled synth; the other infra tests use this.
 */
export function synthesizeWithoutBundling(
  stage: string,
  context: Record<string, unknown> = {},
  before: (stacks: { stateful: StatefulStack; stateless: StatelessStack }) => void = () => {},
): Synthesized {
  const app = new App({ context: { stage, 'aws:cdk:bundling-stacks': [], ...context } });
  const { stateful, stateless } = buildApp(app);
  before({ stateful, stateless });
  // One synth for both templates (Template.fromStack would synthesize the app once per stack).
  const assembly = app.synth();
  const template = (stack: Stack) => Template.fromJSON(assembly.getStackByName(stack.stackName).template);
  return {
    app,
    stateful,
    stateless,
    statefulTemplate: template(stateful),
    statelessTemplate: template(stateless),
    assemblyDirectory: assembly.directory,
  };
}

/** The CloudFormation logical id of a construct's main resource. */
export function logicalId(construct: IConstruct): string {
  const resource = (construct.node.defaultChild ?? construct) as CfnResource;
  return Stack.of(resource).getLogicalId(resource);
}

/** A template's resources, by logical id. */
export type TemplateResources = Record<
  string,
  { Type: string; Properties: Record<string, unknown>; DeletionPolicy?: string }
>;

export const resourcesOf = (template: Template): TemplateResources =>
  (template.toJSON() as { Resources: TemplateResources }).Resources;

/** A template's resources of one CloudFormation type, as [logical id, resource] pairs. */
export const ofType = (template: Template, type: string) =>
  Object.entries(resourcesOf(template)).filter(([, r]) => r.Type === type);
