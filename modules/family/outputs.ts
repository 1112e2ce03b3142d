import { TerraformOutput } from 'cdktf';
import type { Construct } from 'constructs';

export interface FamilyOutputsProps {
  readonly familyName: string;
  readonly streamName: string;
  readonly failureBucketName: string;
  /** Base URL of the events API stage. */
  readonly apiUrl: string;
}

/** Stable, readable output names (`stream_name_orders`) instead of construct-path hashes. */
export function buildOutputs(scope: Construct, props: FamilyOutputsProps): void {
  const { familyName } = props;
  const outputs: Array<[string, string, string]> = [
    ['stream_name', props.streamName, `Kinesis stream of ${familyName}`],
    ['failure_bucket', props.failureBucketName, `Failed records of ${familyName}, with their payload (npm run redrive)`],
    ['route', `${props.apiUrl}/events/${familyName}`, `POST one ${familyName} event here; append /batch for up to 500`],
  ];
  for (const [id, value, description] of outputs) {
    new TerraformOutput(scope, id, { value, description }).overrideLogicalId(`${id}_${familyName}`);
  }
}
