/**
 * Realistic synthetic events for every family, deterministic for a seed.
 *
 * Each generator is a small stateful world (users, orders with a lifecycle,
 * tutoring students and tutors with qualities and risk) so that the events
 * exercise what the processors aggregate and alert on, not just the schema.
 * The family list and schemas come from the families' own definitions
 * (handlers/families.ts); a family without a hand-written generator here gets
 * one derived from its schema and example (./derived.ts).
 */
import { familyByName } from '../../handlers/families.js';
import type { FamilyDefinition } from '../../handlers/runtime/family.js';
import { userActivity } from '../../handlers/user_activity/family.js';
import { orders } from '../../handlers/orders/family.js';
import { payments } from '../../handlers/payments/family.js';
import { tutoring } from '../../handlers/tutoring/family.js';
import { DerivedGenerator } from './derived.js';
import { BaseGenerator, type Body, type EventGenerator, type GeneratorOptions } from './generator.js';
import { Prng, clamp, round } from './prng.js';

export { FAMILIES, familyByName } from '../../handlers/families.js';
export type { Body, EventGenerator, GeneratorOptions } from './generator.js';

const pad = (n: number, width: number) => String(n).padStart(width, '0');

class UserActivityGenerator extends BaseGenerator {
  private readonly users = Array.from({ length: 2000 }, (_, i) => `u-${pad(i + 1, 5)}`);
  private readonly pages = ['/', '/products', '/products/sku-1', '/cart', '/checkout', '/account', '/help', '/search'];
  private readonly queries = ['running shoes', 'rain jacket', 'gift card', 'usb-c cable', 'desk lamp', 'coffee'];

  next(): Body {
    const p = this.prng;
    const action = p.weighted([
      ['page_view', 50],
      ['click', 20],
      ['search', 10],
      ['add_to_cart', 8],
      ['sign_in', 5],
      ['sign_out', 3],
      ['purchase', 4],
    ] as const);
    const metadata: Body = { session: `s-${p.int(1, 99999)}`, device: p.pick(['desktop', 'mobile', 'tablet']) };
    if (action === 'page_view' || action === 'click') metadata.page = p.pick(this.pages);
    if (action === 'search') metadata.query = p.pick(this.queries);
    if (action === 'add_to_cart' || action === 'purchase') metadata.sku = `sku-${p.int(1, 300)}`;
    return {
      event_id: this.eventId(),
      user_id: p.pickSkewed(this.users),
      action,
      timestamp: this.timestamp(),
      metadata,
    };
  }
}

interface OpenOrder {
  id: string;
  customer: string;
  total: number;
  currency: string;
  state: 'created' | 'paid' | 'shipped' | 'cancelled';
  paymentId: string;
}

const CURRENCIES = ['EUR', 'USD', 'GBP'] as const;

/** A catalogue shared by orders and payments so totals are plausible sums of unit prices. */
function catalogue(p: Prng): { sku: string; price: number }[] {
  return Array.from({ length: 300 }, (_, i) => ({ sku: `sku-${i + 1}`, price: round(2 + p.next() * 198, 2) }));
}

class OrdersGenerator extends BaseGenerator {
  private readonly customers = Array.from({ length: 1500 }, (_, i) => `c-${pad(i + 1, 5)}`);
  private readonly skus = catalogue(this.prng);
  private readonly open: OpenOrder[] = [];
  private orderCounter = 0;

  next(): Body {
    const p = this.prng;
    // Keep a pool of live orders; a lifecycle step is chosen from it once it is large enough,
    // so the steps of one order are far apart in the stream, as in real traffic.
    if (this.open.length < 200 || p.chance(0.35)) return this.create();
    const index = p.int(0, this.open.length - 1);
    const order = this.open[index]!;
    const common = { event_id: this.eventId(), order_id: order.id, customer_id: order.customer, timestamp: this.timestamp() };
    if (order.state === 'created') {
      if (p.chance(0.1)) {
        this.close(index);
        return { ...common, type: 'cancelled', reason: p.pick(['customer request', 'out of stock', 'fraud check']) };
      }
      order.state = 'paid';
      return { ...common, type: 'paid', total_amount: order.total, currency: order.currency, payment_id: order.paymentId };
    }
    if (p.chance(0.05)) {
      this.close(index);
      return { ...common, type: 'cancelled', reason: 'customer request after payment' };
    }
    this.close(index);
    return {
      ...common,
      type: 'shipped',
      carrier: p.pick(['DHL', 'UPS', 'PostNL', 'Royal Mail']),
      tracking_number: `TRK${pad(p.int(0, 99_999_999), 8)}`,
    };
  }

  private close(index: number) {
    this.open[index] = this.open[this.open.length - 1]!;
    this.open.pop();
  }

  private create(): Body {
    const p = this.prng;
    this.orderCounter += 1;
    const id = `o-${this.options.idPrefix}-${this.orderCounter}`;
    const items = Array.from({ length: p.weighted([[1, 50], [2, 25], [3, 15], [5, 10]] as const) }, () => {
      const product = p.pickSkewed(this.skus, 1.5);
      return { sku: product.sku, quantity: p.weighted([[1, 70], [2, 20], [3, 10]] as const), unit_price: product.price };
    });
    const total = round(items.reduce((s, i) => s + i.quantity * i.unit_price, 0), 2);
    const order: OpenOrder = {
      id,
      customer: p.pickSkewed(this.customers),
      total,
      currency: p.pick(CURRENCIES),
      state: 'created',
      paymentId: `p-${this.options.idPrefix}-${this.orderCounter}`,
    };
    this.open.push(order);
    return {
      event_id: this.eventId(),
      order_id: order.id,
      customer_id: order.customer,
      timestamp: this.timestamp(),
      type: 'created',
      items,
      total_amount: total,
      currency: order.currency,
    };
  }
}

interface OpenPayment {
  id: string;
  orderId: string;
  amount: number;
  currency: string;
  method: string;
  state: 'authorized' | 'captured';
}

class PaymentsGenerator extends BaseGenerator {
  private readonly open: OpenPayment[] = [];
  private paymentCounter = 0;

  next(): Body {
    const p = this.prng;
    if (this.open.length < 100 || p.chance(0.4)) {
      this.paymentCounter += 1;
      const payment: OpenPayment = {
        id: `p-${this.options.idPrefix}-${this.paymentCounter}`,
        orderId: `o-${this.options.idPrefix}-pay-${this.paymentCounter}`,
        amount: round(5 + p.next() * 400, 2),
        currency: p.pick(CURRENCIES),
        method: p.weighted([['card', 70], ['paypal', 15], ['bank_transfer', 8], ['wallet', 7]] as const),
        state: 'authorized',
      };
      const failed = p.chance(0.06);
      if (!failed) this.open.push(payment);
      return {
        ...this.common(payment),
        status: failed ? 'failed' : 'authorized',
        ...(failed ? { failure_reason: p.pick(['insufficient_funds', 'card_declined', 'expired_card']) } : {}),
      };
    }
    const index = p.int(0, this.open.length - 1);
    const payment = this.open[index]!;
    if (payment.state === 'authorized') {
      payment.state = 'captured';
      // A few captures disagree with the provider's view of the order: the processor alerts on those.
      const mismatch = p.chance(0.02);
      return {
        ...this.common(payment),
        status: 'captured',
        order_amount: mismatch ? round(payment.amount + p.int(1, 50), 2) : payment.amount,
      };
    }
    this.open[index] = this.open[this.open.length - 1]!;
    this.open.pop();
    return p.chance(0.1) ? { ...this.common(payment), status: 'refunded' } : this.next();
  }

  private common(payment: OpenPayment): Body {
    return {
      event_id: this.eventId(),
      payment_id: payment.id,
      order_id: payment.orderId,
      amount: payment.amount,
      currency: payment.currency,
      method: payment.method,
      timestamp: this.timestamp(),
    };
  }
}

export const TUTORING_SUBJECTS = [
  'math', 'physics', 'chemistry', 'biology', 'english', 'history', 'economics', 'computer_science',
  'ib_math_aa', 'ib_physics', 'ib_chemistry', 'spanish',
] as const;
export const TUTORING_REGIONS = ['us-east', 'us-west', 'uk', 'eu-central', 'apac', 'latam'] as const;

interface Student {
  id: string;
  health: number;
  /** At-risk students log more IB calls and get lower health updates, so alerts do fire. */
  atRisk: boolean;
}

/** The operations dashboard's world: students, tutors, subjects, regions, sessions, IB calls, health, supply/demand. */
class TutoringGenerator extends BaseGenerator {
  private readonly students: Student[] = Array.from({ length: 800 }, (_, i) => {
    const atRisk = this.prng.chance(0.12);
    return { id: `stu_${pad(i + 1, 4)}`, atRisk, health: round(atRisk ? 35 + this.prng.next() * 40 : 70 + this.prng.next() * 30, 1) };
  });
  private readonly tutors = Array.from({ length: 120 }, (_, i) => ({
    id: `tut_${pad(i + 1, 3)}`,
    quality: clamp(this.prng.normal(4.2, 0.5), 2, 5),
    subjects: [this.prng.pick(TUTORING_SUBJECTS), this.prng.pick(TUTORING_SUBJECTS)],
  }));
  private readonly live: { session: string; student: string; tutor: string; subject: string; quality: number }[] = [];
  private sessionCounter = 0;

  next(): Body {
    const p = this.prng;
    const kind = p.weighted([
      ['session_started', 30],
      ['session_completed', this.live.length > 0 ? 28 : 0],
      ['ib_call_logged', 10],
      ['tutor_availability_updated', 10],
      ['customer_health_update', 12],
      ['supply_demand_update', 10],
    ] as const);
    const base = { event_id: this.eventId(), event_type: kind, timestamp: this.timestamp() };
    switch (kind) {
      case 'session_started': {
        const student = p.pickSkewed(this.students, 1.5);
        const tutor = p.pick(this.tutors);
        this.sessionCounter += 1;
        const session = {
          session: `sess_${this.options.idPrefix}_${this.sessionCounter}`,
          student: student.id,
          tutor: tutor.id,
          subject: p.pick(tutor.subjects),
          quality: tutor.quality,
        };
        this.live.push(session);
        return { ...base, payload: { session_id: session.session, student_id: session.student, tutor_id: session.tutor, subject: session.subject } };
      }
      case 'session_completed': {
        const index = p.int(0, this.live.length - 1);
        const s = this.live[index]!;
        this.live[index] = this.live[this.live.length - 1]!;
        this.live.pop();
        const payload: Body = {
          session_id: s.session,
          student_id: s.student,
          tutor_id: s.tutor,
          subject: s.subject,
          duration_minutes: p.weighted([[30, 30], [45, 25], [60, 35], [90, 10]] as const),
        };
        // Not every student rates; ratings are on a half-star scale around the tutor's quality.
        if (p.chance(0.7)) payload.tutor_rating = clamp(Math.round(p.normal(s.quality, 0.6) * 2) / 2, 1, 5);
        return { ...base, payload };
      }
      case 'ib_call_logged': {
        const atRisk = this.students.filter((s) => s.atRisk);
        const student = p.chance(0.6) && atRisk.length > 0 ? p.pick(atRisk) : p.pick(this.students);
        return {
          ...base,
          payload: {
            student_id: student.id,
            call_id: `call_${this.options.idPrefix}_${p.int(1, 1e9)}`,
            reason: p.pick(['billing question', 'scheduling', 'tutor change request', 'technical issue', 'cancellation intent']),
          },
        };
      }
      case 'tutor_availability_updated': {
        const tutor = p.pick(this.tutors);
        return { ...base, payload: { tutor_id: tutor.id, available_hours: p.int(0, 40), subjects: tutor.subjects } };
      }
      case 'customer_health_update': {
        const student = p.pick(this.students);
        student.health = round(clamp(student.health + p.normal(student.atRisk ? -2 : 0.5, 6), 0, 100), 1);
        const payload: Body = { student_id: student.id, health_score: student.health };
        if (p.chance(0.6)) {
          payload.sessions_last_7_days = p.int(0, 6);
          payload.sessions_last_30_days = (payload.sessions_last_7_days as number) + p.int(0, 15);
          payload.ib_calls_last_14_days = student.atRisk ? p.int(1, 6) : p.int(0, 2);
        }
        return { ...base, payload };
      }
      case 'supply_demand_update': {
        const tutors = p.int(2, 60);
        const students = p.int(5, 400);
        const demand = round(clamp((students / (tutors * 8)) * 50, 0, 100), 1);
        const supply = round(clamp(100 - demand + p.normal(0, 5), 0, 100), 1);
        const status = demand > 70 ? 'high_demand' : supply > 70 ? 'high_supply' : 'balanced';
        return {
          ...base,
          payload: {
            subject: p.pick(TUTORING_SUBJECTS),
            region: p.pick(TUTORING_REGIONS),
            available_tutors: tutors,
            active_students: students,
            demand_score: demand,
            supply_score: supply,
            balance_status: status,
          },
        };
      }
    }
  }
}

/** The hand-written generators, by family name; every other family gets a DerivedGenerator. */
const GENERATORS: ReadonlyMap<string, new (family: FamilyDefinition, options: GeneratorOptions) => EventGenerator> = new Map<
  string,
  new (family: FamilyDefinition, options: GeneratorOptions) => EventGenerator
>([
  [userActivity.name, UserActivityGenerator],
  [orders.name, OrdersGenerator],
  [payments.name, PaymentsGenerator],
  [tutoring.name, TutoringGenerator],
]);

export function createGenerator(familyName: string, options: GeneratorOptions): EventGenerator {
  const family = familyByName(familyName);
  const Generator = GENERATORS.get(family.name) ?? DerivedGenerator;
  return new Generator(family, options);
}

/** Interleaves several families' generators by weight, deterministically. */
export class MixedGenerator {
  private readonly generators: EventGenerator[];
  private readonly prng: Prng;

  constructor(
    familyNames: readonly string[],
    options: GeneratorOptions,
    private readonly weights: readonly number[] = familyNames.map(() => 1),
  ) {
    this.generators = familyNames.map((name) => createGenerator(name, options));
    this.prng = new Prng(options.seed ^ 0x5bd1e995);
  }

  next(): { family: string; body: Body } {
    const generator = this.prng.weighted(this.generators.map((g, i) => [g, this.weights[i] ?? 1] as const));
    return { family: generator.family.name, body: generator.next() };
  }
}

export type MalformedKind = 'bad_json' | 'wrong_schema';

export interface Malformed {
  kind: MalformedKind;
  /** Exactly what goes on the wire. */
  raw: string;
  reason: string;
}

/**
 * Turns a valid body into a malformed one: text that is not JSON, or JSON that
 * breaks the family schema (a required field dropped, a wrong type, an unknown
 * discriminator, a number out of range, an identifier with forbidden characters).
 */
export function malform(prng: Prng, family: FamilyDefinition, valid: Body): Malformed {
  if (prng.chance(0.3)) {
    const text = JSON.stringify(valid);
    const cut = prng.int(1, Math.max(1, text.length - 2));
    return prng.chance(0.5)
      ? { kind: 'bad_json', raw: text.slice(0, cut), reason: 'truncated JSON' }
      : { kind: 'bad_json', raw: `${text.slice(0, cut)}\u0000}{`, reason: 'garbage inside JSON' };
  }
  const body: Body = structuredClone(valid);
  const required = requiredTopLevel(family, valid);
  const strategy = prng.pick(['drop', 'type', 'discriminator', 'id'] as const);
  if (strategy === 'drop' && required.length > 0) {
    const field = prng.pick(required);
    delete body[field];
    return { kind: 'wrong_schema', raw: JSON.stringify(body), reason: `missing ${field}` };
  }
  if (strategy === 'discriminator' && discriminatorOf(family)) {
    body[discriminatorOf(family)!] = 'not_a_known_kind';
    return { kind: 'wrong_schema', raw: JSON.stringify(body), reason: 'unknown discriminator' };
  }
  if (strategy === 'id' && typeof body[family.partitionKey[0] ?? ''] === 'string') {
    body[family.partitionKey[0]!] = 'has spaces and "quotes"';
    return { kind: 'wrong_schema', raw: JSON.stringify(body), reason: 'invalid identifier' };
  }
  // Every family's required fields include one string; a number where a string belongs is always wrong.
  const field = required.find((f) => typeof body[f] === 'string') ?? required[0] ?? 'payload';
  body[field] = { unexpected: [1, 2, 3] };
  return { kind: 'wrong_schema', raw: JSON.stringify(body), reason: `wrong type for ${field}` };
}

function discriminatorOf(family: FamilyDefinition): string | undefined {
  const def = (family.schema as unknown as { _zod: { def: { discriminator?: string } } })._zod.def;
  return def.discriminator;
}

/** Top-level fields of this body that the schema cannot do without (found by trying, so it follows every union branch). */
function requiredTopLevel(family: FamilyDefinition, body: Body): string[] {
  return Object.keys(body).filter((key) => {
    const copy: Body = { ...body };
    delete copy[key];
    return !family.schema.safeParse(copy).success;
  });
}
