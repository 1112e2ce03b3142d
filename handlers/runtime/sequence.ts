/**
 * Kinesis sequence numbers are decimal strings of varying length (up to 128
 * digits); padding them makes string comparison numeric, which is what
 * DynamoDB condition expressions and the fences compare.
 */
export const SEQUENCE_WIDTH = 128;

export function padSequence(sequenceNumber: string): string {
  return sequenceNumber.padStart(SEQUENCE_WIDTH, '0');
}

/** `shardId-000000000001:4959...` (the record's eventID) → `shardId-000000000001`. */
export function shardIdOf(eventID: string | undefined): string {
  const colon = eventID?.indexOf(':') ?? -1;
  return colon > 0 ? eventID!.slice(0, colon) : 'shardId-unknown';
}
