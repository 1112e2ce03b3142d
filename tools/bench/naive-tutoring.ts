/**
 * The baseline for part 3: the seed's processing Lambda (REFERENCE.md B), written
 * plainly. For every event and every entity it touches, it reads the entity's
 * aggregate and writes it back: two DynamoDB round trips per entity per event,
 * one PutEvents per anomaly, counters that only grow. It is what event-flow's
 * processor is measured against, not something to run in production.
 */
import { DynamoDBClient, GetItemCommand, PutItemCommand, type AttributeValue } from '@aws-sdk/client-dynamodb';
import { EventBridgeClient, PutEventsCommand } from '@aws-sdk/client-eventbridge';
import type { KinesisStreamEvent } from 'aws-lambda';
import { tutoring, type TutoringEvent } from '../../handlers/tutoring/family.js';

type Aggregate = Record<string, number | string>;

export interface NaiveOptions {
  dynamo: DynamoDBClient;
  eventBridge: EventBridgeClient;
  table: string;
  busName: string;
}

export function createNaiveTutoringHandler({ dynamo, eventBridge, table, busName }: NaiveOptions) {
  const load = async (type: string, id: string): Promise<Aggregate> => {
    const out = await dynamo.send(new GetItemCommand({ TableName: table, Key: { pk: { S: `naive#${type}#${id}` }, sk: { S: 'aggregate' } } }));
    const agg: Aggregate = {};
    for (const [k, v] of Object.entries(out.Item ?? {})) if (k !== 'pk' && k !== 'sk') agg[k] = v.N !== undefined ? Number(v.N) : (v.S ?? '');
    return agg;
  };
  const save = async (type: string, id: string, agg: Aggregate) => {
    const item: Record<string, AttributeValue> = { pk: { S: `naive#${type}#${id}` }, sk: { S: 'aggregate' } };
    for (const [k, v] of Object.entries(agg)) item[k] = typeof v === 'number' ? { N: String(v) } : { S: v };
    await dynamo.send(new PutItemCommand({ TableName: table, Item: item }));
  };
  const update = async (type: string, id: string, apply: (agg: Aggregate) => void) => {
    const agg = await load(type, id);
    apply(agg);
    agg.last_updated = new Date().toISOString();
    await save(type, id, agg);
    return agg;
  };
  const inc = (agg: Aggregate, field: string, by = 1) => {
    agg[field] = (Number(agg[field]) || 0) + by;
  };
  const alert = async (alertType: string, severity: string, entityId: string, entityType: string, details: unknown) => {
    await eventBridge.send(
      new PutEventsCommand({
        Entries: [
          {
            EventBusName: busName,
            Source: 'iops-dashboard.processor',
            DetailType: alertType,
            Detail: JSON.stringify({ alert_type: alertType, severity, entity_id: entityId, entity_type: entityType, details, timestamp: new Date().toISOString() }),
          },
        ],
      }),
    );
  };

  const processEvent = async (event: TutoringEvent) => {
    switch (event.event_type) {
      case 'session_started':
      case 'session_completed': {
        const p = event.payload;
        for (const [type, id] of [['student', p.student_id], ['tutor', p.tutor_id]] as const) {
          await update(type, id, (agg) => {
            inc(agg, 'sessions_7d');
            inc(agg, 'sessions_14d');
            inc(agg, 'sessions_30d');
            if (type === 'tutor' && event.event_type === 'session_completed' && event.payload.tutor_rating !== undefined) {
              inc(agg, 'rating_sum', event.payload.tutor_rating);
              inc(agg, 'rating_count');
              agg.avg_rating = Number(agg.rating_sum) / Number(agg.rating_count);
            }
          });
        }
        if (p.subject) await update('subject', p.subject, (agg) => inc(agg, 'sessions_30d'));
        return;
      }
      case 'ib_call_logged': {
        const agg = await update('student', event.payload.student_id, (a) => {
          inc(a, 'ib_calls_7d');
          inc(a, 'ib_calls_14d');
        });
        if (Number(agg.ib_calls_14d) >= 3) await alert('high_ib_call_frequency', 'warning', event.payload.student_id, 'student', { ib_calls_14d: agg.ib_calls_14d });
        return;
      }
      case 'tutor_availability_updated':
        await update('tutor', event.payload.tutor_id, (agg) => {
          agg.available_hours = event.payload.available_hours;
        });
        return;
      case 'customer_health_update': {
        const p = event.payload;
        await update('student', p.student_id, (agg) => {
          agg.health_score = p.health_score;
          if (p.sessions_last_7_days !== undefined) agg.sessions_7d = p.sessions_last_7_days;
          if (p.sessions_last_30_days !== undefined) agg.sessions_30d = p.sessions_last_30_days;
          if (p.ib_calls_last_14_days !== undefined) agg.ib_calls_14d = p.ib_calls_last_14_days;
        });
        if (p.health_score < 70) await alert('low_health_score', p.health_score < 50 ? 'critical' : 'warning', p.student_id, 'student', { health_score: p.health_score });
        return;
      }
      case 'supply_demand_update': {
        const p = event.payload;
        for (const [type, id] of [['subject', p.subject], ['region', p.region]] as const) {
          await update(type, id, (agg) => {
            agg.available_tutors = p.available_tutors;
            agg.active_students = p.active_students;
            agg.demand_score = p.demand_score;
            agg.supply_score = p.supply_score;
            agg.balance_status = p.balance_status;
          });
        }
        if (p.balance_status === 'high_demand') await alert('supply_demand_imbalance', 'info', p.subject, 'subject', { region: p.region });
        return;
      }
    }
  };

  return async (event: KinesisStreamEvent) => {
    for (const record of event.Records) {
      try {
        const envelope = JSON.parse(Buffer.from(record.kinesis.data, 'base64').toString('utf8')) as { data: unknown };
        const parsed = tutoring.schema.safeParse(envelope.data);
        if (!parsed.success) {
          console.error('invalid event', parsed.error.issues[0]?.message);
          continue;
        }
        await processEvent(parsed.data as TutoringEvent);
      } catch (error) {
        // The seed's behaviour: print and drop.
        console.error('failed to process record', error);
      }
    }
    return { batchItemFailures: [] };
  };
}
