/**
 * Where each recorded fact of the conformance suite comes from. The facts
 * themselves (field names, types, formats, texts, counts) are written down in
 * the `recorded-*.ts` files of this folder as data; nothing is copied code.
 *
 * LocalStack records its `*.snapshot.json` files against real AWS (the tests
 * are marked `markers.aws.validated`); the commit is the one read.
 */
export interface Source {
  /** Repository and file, or the documentation page. */
  readonly where: string;
  /** The test (snapshot key) or section the fact is read from. */
  readonly case?: string;
}

const LOCALSTACK = 'localstack/localstack@8b9a79f05846835cf4dff63ab7eefdde9df83783';
const KINESIS_ESM = `${LOCALSTACK}:tests/aws/services/lambda_/event_source_mapping/test_lambda_integration_kinesis.snapshot.json`;
const APIGW_COMMON = `${LOCALSTACK}:tests/aws/services/apigateway/test_apigateway_common.snapshot.json`;
const FGE = 'java-json-tools/json-schema-validator@d265c6b15ca47a820de4a9d2f3de3b884c0a4b68';

export const SOURCES = {
  kinesisEvent: { where: KINESIS_ESM, case: 'TestKinesisSource::test_create_kinesis_event_source_mapping (kinesis_records)' },
  onFailureUnhandled: { where: KINESIS_ESM, case: 'TestKinesisSource::test_kinesis_event_source_mapping_with_on_failure_destination_config (sqs_payload)' },
  onFailurePartial: { where: KINESIS_ESM, case: 'TestKinesisSource::test_kinesis_report_batch_item_failures (sqs_payload, kinesis_records)' },
  failureScenarios: { where: KINESIS_ESM, case: 'TestKinesisSource::test_kinesis_report_batch_item_failure_scenarios[*] (sqs_payload, kinesis_events)' },
  successScenarios: { where: KINESIS_ESM, case: 'TestKinesisSource::test_kinesis_report_batch_item_success_scenarios[*] (kinesis_events)' },
  ageBeforeIngestion: { where: KINESIS_ESM, case: 'TestKinesisSource::test_kinesis_maximum_record_age_exceeded[expire-before-ingestion]' },
  ageDiscard: { where: KINESIS_ESM, case: 'TestKinesisSource::test_kinesis_maximum_record_age_exceeded_discard_records' },
  s3Destination: { where: KINESIS_ESM, case: 'TestKinesisSource::test_kinesis_event_source_mapping_with_s3_on_failure_destination (record_body)' },
  bisect: {
    where: 'https://docs.aws.amazon.com/lambda/latest/dg/kinesis-on-failure-destination.html (Configuring error handling: "Split batch on error")',
  },
  validatorTexts: { where: `${FGE}:src/main/resources/com/github/fge/jsonschema/validator/validation.properties` },
  validatorRequiredOrder: { where: `${FGE}:src/main/java/com/github/fge/jsonschema/keyword/digest/draftv4/RequiredDigester.java (sorts the names)` },
  validatorTypeOrder: { where: `${FGE}:src/main/java/com/github/fge/jsonschema/keyword/digest/draftv4/DraftV4TypeDigester.java (allowed types in NodeType order; number adds integer)` },
  validatorUnwantedOrder: { where: `${FGE}:src/main/java/com/github/fge/jsonschema/keyword/validator/common/AdditionalPropertiesValidator.java (one message, names sorted)` },
  validatorOneOf: { where: `${FGE}:src/main/java/com/github/fge/jsonschema/keyword/validator/draftv4/OneOfValidator.java (sub-reports kept out of the message list)` },
  validatorWalk: {
    where: `${FGE}:src/main/java/com/github/fge/jsonschema/processors/validation/InstanceValidator.java (keywords in name order, children only while the report is clean)`,
  },
  validatorEngine: {
    where: 'https://docs.aws.amazon.com/apigateway/latest/developerguide/models-mappings-models.html (models are JSON Schema draft 4)',
  },
  gatewayResponses: { where: 'https://docs.aws.amazon.com/apigateway/latest/developerguide/supported-gateway-response-types.html' },
  templateReference: {
    where: 'https://docs.aws.amazon.com/apigateway/latest/developerguide/api-gateway-mapping-template-reference.html',
  },
  velocity: { where: 'https://velocity.apache.org/engine/1.7/user-guide.html (References, Conditionals: "==" compares toString() of different classes)' },
  apigatewayLimits: { where: 'https://docs.aws.amazon.com/apigateway/latest/developerguide/limits.html (Payload size 10 MB)' },
  templatePathFormatting: { where: APIGW_COMMON, case: 'TestApiGatewayCommon::test_input_path_template_formatting' },
  templateBodyFormatting: { where: APIGW_COMMON, case: 'TestApiGatewayCommon::test_input_body_formatting' },
  kinesisIntegration: {
    where: `${LOCALSTACK}:tests/aws/services/apigateway/test_apigateway_kinesis.snapshot.json`,
    case: 'test_apigateway_to_kinesis[PutRecord], [PutRecords] (apigateway_response)',
  },
  missingAuthenticationToken: { where: APIGW_COMMON, case: 'message "Missing Authentication Token" for a path with no method' },
  tooLarge: {
    where: 'koki-develop/lgtm-generator issue #10 (a recorded 413 over 10 MB; custom REQUEST_TOO_LARGE response had no effect), reapit/foundations issue #4338 (the same)',
  },
  putRecords: { where: 'https://docs.aws.amazon.com/kinesis/latest/APIReference/API_PutRecords.html (ErrorCode, ErrorMessage per entry)' },
} as const satisfies Record<string, Source>;
