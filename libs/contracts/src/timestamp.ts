import { z } from 'zod';

/**
 * Every instant on the wire: ISO 8601 with a UTC offset (`2026-12-07T19:00:00.000Z`, `…T20:00:00+01:00`).
 * One definition, so that events, RPCs and REST bodies of every service accept the same forms.
 */
export const Timestamp = z.iso.datetime({ offset: true });
