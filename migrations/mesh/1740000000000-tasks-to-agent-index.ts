import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Tasks addressed to one agent (`to_agent_id`) are listed and counted by the agent's A2A endpoint
 * (ListTasks `totalSize`, issue 25) and by an agent's own task list; the assignee, sender and role
 * sides had their index since the first migration, this side had none.
 */
export class TasksToAgentIndex1740000000000 implements MigrationInterface {
  name = 'TasksToAgentIndex1740000000000';

  async up(runner: QueryRunner): Promise<void> {
    await runner.query(
      `CREATE INDEX IF NOT EXISTS tasks_to_agent_idx
         ON mesh.tasks (to_agent_id, created_at DESC) WHERE to_agent_id IS NOT NULL`,
    );
  }

  async down(runner: QueryRunner): Promise<void> {
    await runner.query(`DROP INDEX IF EXISTS mesh.tasks_to_agent_idx`);
  }
}
