import type { MigrationInterface, QueryRunner } from 'typeorm';
import { createProcessedEventsAgeIndex, dropProcessedEventsAgeIndex } from '../common/retention-indexes.js';

/** The dedupe table's age index, which the registry's retention job deletes by (docs/operations.md). */
export class RetentionIndexes1736000000000 implements MigrationInterface {
  name = 'RetentionIndexes1736000000000';
  transaction = false;

  async up(runner: QueryRunner): Promise<void> {
    await createProcessedEventsAgeIndex(runner, 'registry');
  }

  async down(runner: QueryRunner): Promise<void> {
    await dropProcessedEventsAgeIndex(runner, 'registry');
  }
}
