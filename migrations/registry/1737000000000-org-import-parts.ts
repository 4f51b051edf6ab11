import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The parts of a chunked org import (ADR 0013), kept until import-org names their upload. Any
 * replica may receive a part, so they wait in Postgres, not in one replica's memory.
 */
export class OrgImportParts1737000000000 implements MigrationInterface {
  name = 'OrgImportParts1737000000000';

  async up(runner: QueryRunner): Promise<void> {
    await runner.query(`
      CREATE TABLE registry.org_import_parts (
        upload_id uuid NOT NULL,
        part_index integer NOT NULL,
        csv text NOT NULL,
        received_at timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (upload_id, part_index)
      )`);
    await runner.query(
      `CREATE INDEX org_import_parts_received_idx ON registry.org_import_parts (received_at)`,
    );
  }

  async down(runner: QueryRunner): Promise<void> {
    await runner.query(`DROP TABLE IF EXISTS registry.org_import_parts`);
  }
}
