/**
 * The hot-key profile's events: `session_started` from as many distinct
 * students as there are events, all on one subject and a handful of tutors,
 * so that one shared item (the subject) is written from tens of thousands of
 * partition keys within the fence retention: the shape that made a subject
 * item outgrow DynamoDB's 400 KB when fences were kept per lane (issue 8).
 * The malformed fraction is made from these events by the generator's own
 * `malform`, as in the default profile.
 */
import { familyByName, malform, type Body } from '../generators/families.js';
import { Prng } from '../generators/prng.js';
import type { SendItem } from '../generators/sender.js';

export interface HotKeyOptions {
  seed: number;
  /** Simulated clock start (ms); timestamps advance up to 2 s per event, as the default generators do. */
  epochMs: number;
  idPrefix: string;
  malformed: number;
  /** The shared subject every session names. @default 'hot_subject' */
  subject?: string;
  /** Tutors the sessions are spread over (each one is shared too). @default 20 */
  tutors?: number;
}

export const HOT_SUBJECT = 'hot_subject';

export function hotKeySource(options: HotKeyOptions): () => SendItem {
  const tutoring = familyByName('tutoring');
  const prng = new Prng(options.seed ^ 0x5eed);
  const subject = options.subject ?? HOT_SUBJECT;
  const tutors = options.tutors ?? 20;
  let n = 0;
  let clock = options.epochMs;
  return () => {
    n += 1;
    clock += prng.int(0, 2000);
    const body: Body = {
      event_id: `${options.idPrefix}-hot-${n}`,
      event_type: 'session_started',
      timestamp: new Date(clock).toISOString(),
      // One student per event: every record carries its own partition key.
      payload: { session_id: `sess-hot-${n}`, student_id: `stu-hot-${n}`, tutor_id: `tut-hot-${n % tutors}`, subject },
    };
    if (options.malformed > 0 && prng.chance(options.malformed)) {
      const bad = malform(prng, tutoring, body);
      return { family: 'tutoring', raw: bad.raw, malformed: bad.kind };
    }
    return { family: 'tutoring', body };
  };
}
