/**
 * A waiting room's settings as the admin API (PUT /events/:id/queue) takes
 * them: validated with zod, defaults filled in, into the complete
 * QueueSettings the store keeps (docs/onsale.md).
 */
import { z } from 'zod';
import { DEFAULT_ADMISSION_TTL_MS, type QueueSettings } from './store/waiting-room.js';

const epochMs = z.number().int().min(0).max(8.64e15);

export const queueSettingsInput = z
  .strictObject({
    onSaleAt: epochMs,
    prequeueFrom: epochMs.optional(),
    admitPerMinute: z.number().int().positive().max(10_000_000),
    maxActive: z.number().int().min(0).max(100_000_000).optional(),
    admissionTtlMs: z.number().int().min(1000).max(86_400_000).optional(),
    order: z.enum(['random-then-fifo', 'fifo']).optional(),
    closeWhenSoldOut: z.boolean().optional(),
    endsAt: epochMs.optional(),
  })
  .refine((s) => s.prequeueFrom === undefined || s.prequeueFrom <= s.onSaleAt, { message: 'prequeueFrom must not be after onSaleAt', path: ['prequeueFrom'] })
  .refine((s) => !s.endsAt || s.endsAt > s.onSaleAt, { message: 'endsAt must be after onSaleAt', path: ['endsAt'] });

export type QueueSettingsInput = z.infer<typeof queueSettingsInput>;

/** The settings with every default filled in. */
export function completeQueueSettings(input: QueueSettingsInput): QueueSettings {
  return {
    onSaleAt: input.onSaleAt,
    prequeueFrom: input.prequeueFrom ?? 0,
    admitPerMinute: input.admitPerMinute,
    maxActive: input.maxActive ?? 0,
    admissionTtlMs: input.admissionTtlMs ?? DEFAULT_ADMISSION_TTL_MS,
    order: input.order ?? 'random-then-fifo',
    closeWhenSoldOut: input.closeWhenSoldOut ?? true,
    endsAt: input.endsAt ?? 0,
  };
}

/** Validates a body; a string says what is wrong. */
export function parseQueueSettings(value: unknown): QueueSettings | string {
  const parsed = queueSettingsInput.safeParse(value);
  if (!parsed.success) return parsed.error.issues.map((i) => `${i.path.join('.') || 'body'}: ${i.message}`).join('; ');
  return completeQueueSettings(parsed.data);
}
